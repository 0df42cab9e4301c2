from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="JobProgress")


@_attrs_define
class JobProgress:
    """
    Attributes:
        bytes_read (int): Bytes of the content files read so far.
        bytes_total (int): Bytes of all the content files.
        lines_read (int): Lines of the content files read so far: for CSV, NDJSON and fixed-width files one per
            record (and the header).
    """

    bytes_read: int
    bytes_total: int
    lines_read: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        bytes_read = self.bytes_read

        bytes_total = self.bytes_total

        lines_read = self.lines_read

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "bytes_read": bytes_read,
                "bytes_total": bytes_total,
                "lines_read": lines_read,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        bytes_read = d.pop("bytes_read")

        bytes_total = d.pop("bytes_total")

        lines_read = d.pop("lines_read")

        job_progress = cls(
            bytes_read=bytes_read,
            bytes_total=bytes_total,
            lines_read=lines_read,
        )

        job_progress.additional_properties = d
        return job_progress

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
