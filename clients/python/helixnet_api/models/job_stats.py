from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.job_day import JobDay


T = TypeVar("T", bound="JobStats")


@_attrs_define
class JobStats:
    """
    Attributes:
        days (list[JobDay]): By day, oldest first; days without jobs are left out.
        from_ (str):
        team_id (str): A team: it owns jobs and artifacts. Every user has a personal one.
        to (str):
        truncated (bool): More than the jobs read were made in the range: the oldest days are missing.
    """

    days: list[JobDay]
    from_: str
    team_id: str
    to: str
    truncated: bool
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        days = []
        for days_item_data in self.days:
            days_item = days_item_data.to_dict()
            days.append(days_item)

        from_ = self.from_

        team_id = self.team_id

        to = self.to

        truncated = self.truncated

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "days": days,
                "from": from_,
                "team_id": team_id,
                "to": to,
                "truncated": truncated,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.job_day import JobDay

        d = dict(src_dict)
        days = []
        _days = d.pop("days")
        for days_item_data in _days:
            days_item = JobDay.from_dict(days_item_data)

            days.append(days_item)

        from_ = d.pop("from")

        team_id = d.pop("team_id")

        to = d.pop("to")

        truncated = d.pop("truncated")

        job_stats = cls(
            days=days,
            from_=from_,
            team_id=team_id,
            to=to,
            truncated=truncated,
        )

        job_stats.additional_properties = d
        return job_stats

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
