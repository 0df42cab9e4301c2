from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.daily_cost import DailyCost


T = TypeVar("T", bound="DailyCostReport")


@_attrs_define
class DailyCostReport:
    """
    Attributes:
        days (list[DailyCost]): By day, then key.
        from_ (str):
        group_by (str):
        price_table (str):
        to (str):
    """

    days: list[DailyCost]
    from_: str
    group_by: str
    price_table: str
    to: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        days = []
        for days_item_data in self.days:
            days_item = days_item_data.to_dict()
            days.append(days_item)

        from_ = self.from_

        group_by = self.group_by

        price_table = self.price_table

        to = self.to

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "days": days,
                "from": from_,
                "group_by": group_by,
                "price_table": price_table,
                "to": to,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.daily_cost import DailyCost

        d = dict(src_dict)
        days = []
        _days = d.pop("days")
        for days_item_data in _days:
            days_item = DailyCost.from_dict(days_item_data)

            days.append(days_item)

        from_ = d.pop("from")

        group_by = d.pop("group_by")

        price_table = d.pop("price_table")

        to = d.pop("to")

        daily_cost_report = cls(
            days=days,
            from_=from_,
            group_by=group_by,
            price_table=price_table,
            to=to,
        )

        daily_cost_report.additional_properties = d
        return daily_cost_report

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
