from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.reconciled_day import ReconciledDay


T = TypeVar("T", bound="Reconciliation")


@_attrs_define
class Reconciliation:
    """Estimated against billed, per day and component.

    Attributes:
        billed_usd (float):
        days (list[ReconciledDay]): By day, then component.
        estimated_usd (float):
        from_ (str):
        gap_usd (float): Billed minus estimated.
        price_table (str):
        to (str):
    """

    billed_usd: float
    days: list[ReconciledDay]
    estimated_usd: float
    from_: str
    gap_usd: float
    price_table: str
    to: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        billed_usd = self.billed_usd

        days = []
        for days_item_data in self.days:
            days_item = days_item_data.to_dict()
            days.append(days_item)

        estimated_usd = self.estimated_usd

        from_ = self.from_

        gap_usd = self.gap_usd

        price_table = self.price_table

        to = self.to

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "billed_usd": billed_usd,
                "days": days,
                "estimated_usd": estimated_usd,
                "from": from_,
                "gap_usd": gap_usd,
                "price_table": price_table,
                "to": to,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.reconciled_day import ReconciledDay

        d = dict(src_dict)
        billed_usd = d.pop("billed_usd")

        days = []
        _days = d.pop("days")
        for days_item_data in _days:
            days_item = ReconciledDay.from_dict(days_item_data)

            days.append(days_item)

        estimated_usd = d.pop("estimated_usd")

        from_ = d.pop("from")

        gap_usd = d.pop("gap_usd")

        price_table = d.pop("price_table")

        to = d.pop("to")

        reconciliation = cls(
            billed_usd=billed_usd,
            days=days,
            estimated_usd=estimated_usd,
            from_=from_,
            gap_usd=gap_usd,
            price_table=price_table,
            to=to,
        )

        reconciliation.additional_properties = d
        return reconciliation

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
