from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.field_decision import FieldDecision


T = TypeVar("T", bound="DraftConfirmation")


@_attrs_define
class DraftConfirmation:
    """The body of `POST /jobs/{id}/draft/confirm`.

    Attributes:
        decisions (list[FieldDecision] | Unset): One decision per reviewed field; a field left out keeps the draft's
            proposal.
        pipeline_id (None | str | Unset): Saves the confirmed context as a new version of this pipeline of the job's
            team (the
            version keeps the pipeline's schema, which checks it) instead of a context artifact.
    """

    decisions: list[FieldDecision] | Unset = UNSET
    pipeline_id: None | str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        decisions: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.decisions, Unset):
            decisions = []
            for decisions_item_data in self.decisions:
                decisions_item = decisions_item_data.to_dict()
                decisions.append(decisions_item)

        pipeline_id: None | str | Unset
        if isinstance(self.pipeline_id, Unset):
            pipeline_id = UNSET
        else:
            pipeline_id = self.pipeline_id

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if decisions is not UNSET:
            field_dict["decisions"] = decisions
        if pipeline_id is not UNSET:
            field_dict["pipeline_id"] = pipeline_id

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.field_decision import FieldDecision

        d = dict(src_dict)
        _decisions = d.pop("decisions", UNSET)
        decisions: list[FieldDecision] | Unset = UNSET
        if _decisions is not UNSET:
            decisions = []
            for decisions_item_data in _decisions:
                decisions_item = FieldDecision.from_dict(decisions_item_data)

                decisions.append(decisions_item)

        def _parse_pipeline_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        pipeline_id = _parse_pipeline_id(d.pop("pipeline_id", UNSET))

        draft_confirmation = cls(
            decisions=decisions,
            pipeline_id=pipeline_id,
        )

        return draft_confirmation
