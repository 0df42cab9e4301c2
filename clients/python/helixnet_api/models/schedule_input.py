from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="ScheduleInput")


@_attrs_define
class ScheduleInput:
    """What each scheduled run reads: a fixed set of content artifacts, or the files waiting in a
    folder of the pipeline's inbox. Exactly one of the two.

        Attributes:
            content_artifact_ids (list[str] | Unset): The content artifacts of the pipeline's team one run reads, 1 to 20,
                every time.
            inbox_prefix (None | str | Unset): A folder of the pipeline's inbox (`nightly`, `erp/orders`): files put under
                `inbox/<team>/<pipeline>/<inbox_prefix>/` wait there (a file only starts a run on arrival
                directly in the inbox) until the schedule fires; then each file waiting starts one run, as
                an inbox file does, and moves to `processed/` or `failed/`. Nothing waiting: no run.
    """

    content_artifact_ids: list[str] | Unset = UNSET
    inbox_prefix: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        content_artifact_ids: list[str] | Unset = UNSET
        if not isinstance(self.content_artifact_ids, Unset):
            content_artifact_ids = self.content_artifact_ids

        inbox_prefix: None | str | Unset
        if isinstance(self.inbox_prefix, Unset):
            inbox_prefix = UNSET
        else:
            inbox_prefix = self.inbox_prefix

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if content_artifact_ids is not UNSET:
            field_dict["content_artifact_ids"] = content_artifact_ids
        if inbox_prefix is not UNSET:
            field_dict["inbox_prefix"] = inbox_prefix

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        content_artifact_ids = cast(list[str], d.pop("content_artifact_ids", UNSET))

        def _parse_inbox_prefix(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        inbox_prefix = _parse_inbox_prefix(d.pop("inbox_prefix", UNSET))

        schedule_input = cls(
            content_artifact_ids=content_artifact_ids,
            inbox_prefix=inbox_prefix,
        )

        schedule_input.additional_properties = d
        return schedule_input

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
