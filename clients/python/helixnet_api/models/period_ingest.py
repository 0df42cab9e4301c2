from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="PeriodIngest")


@_attrs_define
class PeriodIngest:
    """
    Attributes:
        billed_usd (float):
        outcome (str): `stored`: the period's totals are this export's now (a re-issue replaced the earlier
            export's); `unchanged`: this very file was the period's already.
        period (str): `YYYY-MM`.
    """

    billed_usd: float
    outcome: str
    period: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        billed_usd = self.billed_usd

        outcome = self.outcome

        period = self.period

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "billed_usd": billed_usd,
                "outcome": outcome,
                "period": period,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        billed_usd = d.pop("billed_usd")

        outcome = d.pop("outcome")

        period = d.pop("period")

        period_ingest = cls(
            billed_usd=billed_usd,
            outcome=outcome,
            period=period,
        )

        period_ingest.additional_properties = d
        return period_ingest

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
