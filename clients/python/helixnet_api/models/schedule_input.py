from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="ScheduleInput")


@_attrs_define
class ScheduleInput:
    """What each scheduled run reads.

    Attributes:
        content_artifact_ids (list[str]): The content artifacts of the pipeline's team each run reads, 1 to 20.
    """

    content_artifact_ids: list[str]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        content_artifact_ids = self.content_artifact_ids

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "content_artifact_ids": content_artifact_ids,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        content_artifact_ids = cast(list[str], d.pop("content_artifact_ids"))

        schedule_input = cls(
            content_artifact_ids=content_artifact_ids,
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
