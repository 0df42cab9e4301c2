from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.remembered_mapping import RememberedMapping


T = TypeVar("T", bound="ConfirmedDraft")


@_attrs_define
class ConfirmedDraft:
    """What a confirmation saved.

    Attributes:
        context (str): The confirmed context (YAML).
        job_id (str): The suggest-mapping job whose draft was confirmed.
        remembered (list[RememberedMapping]): The confirmed pairs, as the team's mapping memory now holds them.
        unmapped (list[str]): Target fields the confirmed context leaves unmapped (rejected, or never proposed).
        context_artifact_id (None | str | Unset): The context artifact saved, when no pipeline was given.
        pipeline_id (None | str | Unset):
        pipeline_version (int | None | Unset): The pipeline version saved, when a pipeline was given.
    """

    context: str
    job_id: str
    remembered: list[RememberedMapping]
    unmapped: list[str]
    context_artifact_id: None | str | Unset = UNSET
    pipeline_id: None | str | Unset = UNSET
    pipeline_version: int | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        context = self.context

        job_id = self.job_id

        remembered = []
        for remembered_item_data in self.remembered:
            remembered_item = remembered_item_data.to_dict()
            remembered.append(remembered_item)

        unmapped = self.unmapped

        context_artifact_id: None | str | Unset
        if isinstance(self.context_artifact_id, Unset):
            context_artifact_id = UNSET
        else:
            context_artifact_id = self.context_artifact_id

        pipeline_id: None | str | Unset
        if isinstance(self.pipeline_id, Unset):
            pipeline_id = UNSET
        else:
            pipeline_id = self.pipeline_id

        pipeline_version: int | None | Unset
        if isinstance(self.pipeline_version, Unset):
            pipeline_version = UNSET
        else:
            pipeline_version = self.pipeline_version

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "context": context,
                "job_id": job_id,
                "remembered": remembered,
                "unmapped": unmapped,
            }
        )
        if context_artifact_id is not UNSET:
            field_dict["context_artifact_id"] = context_artifact_id
        if pipeline_id is not UNSET:
            field_dict["pipeline_id"] = pipeline_id
        if pipeline_version is not UNSET:
            field_dict["pipeline_version"] = pipeline_version

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.remembered_mapping import RememberedMapping

        d = dict(src_dict)
        context = d.pop("context")

        job_id = d.pop("job_id")

        remembered = []
        _remembered = d.pop("remembered")
        for remembered_item_data in _remembered:
            remembered_item = RememberedMapping.from_dict(remembered_item_data)

            remembered.append(remembered_item)

        unmapped = cast(list[str], d.pop("unmapped"))

        def _parse_context_artifact_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        context_artifact_id = _parse_context_artifact_id(
            d.pop("context_artifact_id", UNSET)
        )

        def _parse_pipeline_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        pipeline_id = _parse_pipeline_id(d.pop("pipeline_id", UNSET))

        def _parse_pipeline_version(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        pipeline_version = _parse_pipeline_version(d.pop("pipeline_version", UNSET))

        confirmed_draft = cls(
            context=context,
            job_id=job_id,
            remembered=remembered,
            unmapped=unmapped,
            context_artifact_id=context_artifact_id,
            pipeline_id=pipeline_id,
            pipeline_version=pipeline_version,
        )

        confirmed_draft.additional_properties = d
        return confirmed_draft

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
