from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="ReconciledDay")


@_attrs_define
class ReconciledDay:
    """
    Attributes:
        billed_usd (float):
        component (str): `functions`, `gpu`, `storage`, `queues`, `tables`, `platform`, `untagged`.
        day (str):
        estimated_usd (float):
        gap_usd (float):
    """

    billed_usd: float
    component: str
    day: str
    estimated_usd: float
    gap_usd: float
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        billed_usd = self.billed_usd

        component = self.component

        day = self.day

        estimated_usd = self.estimated_usd

        gap_usd = self.gap_usd

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "billed_usd": billed_usd,
                "component": component,
                "day": day,
                "estimated_usd": estimated_usd,
                "gap_usd": gap_usd,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        billed_usd = d.pop("billed_usd")

        component = d.pop("component")

        day = d.pop("day")

        estimated_usd = d.pop("estimated_usd")

        gap_usd = d.pop("gap_usd")

        reconciled_day = cls(
            billed_usd=billed_usd,
            component=component,
            day=day,
            estimated_usd=estimated_usd,
            gap_usd=gap_usd,
        )

        reconciled_day.additional_properties = d
        return reconciled_day

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
