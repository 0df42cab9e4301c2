from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="DailyCost")


@_attrs_define
class DailyCost:
    """One group's cost on one day.

    Attributes:
        day (str):
        key (str):
        records (int):
        total_usd (float):
    """

    day: str
    key: str
    records: int
    total_usd: float
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        day = self.day

        key = self.key

        records = self.records

        total_usd = self.total_usd

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "day": day,
                "key": key,
                "records": records,
                "total_usd": total_usd,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        day = d.pop("day")

        key = d.pop("key")

        records = d.pop("records")

        total_usd = d.pop("total_usd")

        daily_cost = cls(
            day=day,
            key=key,
            records=records,
            total_usd=total_usd,
        )

        daily_cost.additional_properties = d
        return daily_cost

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
