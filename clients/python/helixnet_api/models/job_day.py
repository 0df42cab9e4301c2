from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.job_day_statuses import JobDayStatuses


T = TypeVar("T", bound="JobDay")


@_attrs_define
class JobDay:
    """
    Attributes:
        day (str): `YYYY-MM-DD` (UTC), the day the jobs were made.
        records_in (int):
        statuses (JobDayStatuses): Jobs per status (`PENDING`, `RUNNING`, `COMPLETED`, `FAILED`, `CANCELLED`).
        p50_seconds (float | None | Unset): The median and 95th percentile of the finished jobs' run time (from start to
            finish), in
            seconds; `null` when none finished.
        p95_seconds (float | None | Unset):
    """

    day: str
    records_in: int
    statuses: JobDayStatuses
    p50_seconds: float | None | Unset = UNSET
    p95_seconds: float | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        day = self.day

        records_in = self.records_in

        statuses = self.statuses.to_dict()

        p50_seconds: float | None | Unset
        if isinstance(self.p50_seconds, Unset):
            p50_seconds = UNSET
        else:
            p50_seconds = self.p50_seconds

        p95_seconds: float | None | Unset
        if isinstance(self.p95_seconds, Unset):
            p95_seconds = UNSET
        else:
            p95_seconds = self.p95_seconds

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "day": day,
                "records_in": records_in,
                "statuses": statuses,
            }
        )
        if p50_seconds is not UNSET:
            field_dict["p50_seconds"] = p50_seconds
        if p95_seconds is not UNSET:
            field_dict["p95_seconds"] = p95_seconds

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.job_day_statuses import JobDayStatuses

        d = dict(src_dict)
        day = d.pop("day")

        records_in = d.pop("records_in")

        statuses = JobDayStatuses.from_dict(d.pop("statuses"))

        def _parse_p50_seconds(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        p50_seconds = _parse_p50_seconds(d.pop("p50_seconds", UNSET))

        def _parse_p95_seconds(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        p95_seconds = _parse_p95_seconds(d.pop("p95_seconds", UNSET))

        job_day = cls(
            day=day,
            records_in=records_in,
            statuses=statuses,
            p50_seconds=p50_seconds,
            p95_seconds=p95_seconds,
        )

        job_day.additional_properties = d
        return job_day

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
