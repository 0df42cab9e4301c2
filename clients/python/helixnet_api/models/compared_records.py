from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="ComparedRecords")


@_attrs_define
class ComparedRecords:
    """How the records of two runs of one input compare.

    Attributes:
        added (int): Records only the candidate run wrote.
        aligned_by (str): `input_record` (records matched by their input record number, around each run's rejects),
            or `position` (by their place in the output: a context that filters or groups).
        changed (int):
        removed (int): Records only the baseline run wrote.
        unchanged (int):
    """

    added: int
    aligned_by: str
    changed: int
    removed: int
    unchanged: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        added = self.added

        aligned_by = self.aligned_by

        changed = self.changed

        removed = self.removed

        unchanged = self.unchanged

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "added": added,
                "aligned_by": aligned_by,
                "changed": changed,
                "removed": removed,
                "unchanged": unchanged,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        added = d.pop("added")

        aligned_by = d.pop("aligned_by")

        changed = d.pop("changed")

        removed = d.pop("removed")

        unchanged = d.pop("unchanged")

        compared_records = cls(
            added=added,
            aligned_by=aligned_by,
            changed=changed,
            removed=removed,
            unchanged=unchanged,
        )

        compared_records.additional_properties = d
        return compared_records

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
