from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define

T = TypeVar("T", bound="PlanLimits")


@_attrs_define
class PlanLimits:
    """A plan's limits.

    Attributes:
        concurrent_jobs (int): Jobs not yet finished (PENDING or RUNNING) at once.
        file_bytes (int): Bytes of one uploaded file.
        records_per_month (int): Records read by the team's completed jobs in a calendar month (UTC).
        storage_bytes (int): Bytes of uploaded files the team keeps.
    """

    concurrent_jobs: int
    file_bytes: int
    records_per_month: int
    storage_bytes: int

    def to_dict(self) -> dict[str, Any]:
        concurrent_jobs = self.concurrent_jobs

        file_bytes = self.file_bytes

        records_per_month = self.records_per_month

        storage_bytes = self.storage_bytes

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "concurrent_jobs": concurrent_jobs,
                "file_bytes": file_bytes,
                "records_per_month": records_per_month,
                "storage_bytes": storage_bytes,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        concurrent_jobs = d.pop("concurrent_jobs")

        file_bytes = d.pop("file_bytes")

        records_per_month = d.pop("records_per_month")

        storage_bytes = d.pop("storage_bytes")

        plan_limits = cls(
            concurrent_jobs=concurrent_jobs,
            file_bytes=file_bytes,
            records_per_month=records_per_month,
            storage_bytes=storage_bytes,
        )

        return plan_limits
