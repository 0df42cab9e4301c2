from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="QuotaUsage")


@_attrs_define
class QuotaUsage:
    """What a team uses of its limits now.

    Attributes:
        concurrent_jobs (int):
        records_this_month (int): Records read this calendar month (UTC).
        storage_bytes (int):
    """

    concurrent_jobs: int
    records_this_month: int
    storage_bytes: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        concurrent_jobs = self.concurrent_jobs

        records_this_month = self.records_this_month

        storage_bytes = self.storage_bytes

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "concurrent_jobs": concurrent_jobs,
                "records_this_month": records_this_month,
                "storage_bytes": storage_bytes,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        concurrent_jobs = d.pop("concurrent_jobs")

        records_this_month = d.pop("records_this_month")

        storage_bytes = d.pop("storage_bytes")

        quota_usage = cls(
            concurrent_jobs=concurrent_jobs,
            records_this_month=records_this_month,
            storage_bytes=storage_bytes,
        )

        quota_usage.additional_properties = d
        return quota_usage

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
