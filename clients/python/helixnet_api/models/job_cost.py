from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.job_cost_breakdown import JobCostBreakdown


T = TypeVar("T", bound="JobCost")


@_attrs_define
class JobCost:
    """A job's cost in USD, with its breakdown per line of the price table and that table's version.

    Attributes:
        breakdown (JobCostBreakdown): USD per line: `lambda_compute`, `lambda_requests`, `gpu`, `s3_storage`,
            `s3_requests`,
            `s3_transfer_out`, `sqs`, `dynamodb`.
        price_table (str): The price table's version (its date, `2026-11-01`).
        total_usd (float):
    """

    breakdown: JobCostBreakdown
    price_table: str
    total_usd: float
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        breakdown = self.breakdown.to_dict()

        price_table = self.price_table

        total_usd = self.total_usd

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "breakdown": breakdown,
                "price_table": price_table,
                "total_usd": total_usd,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.job_cost_breakdown import JobCostBreakdown

        d = dict(src_dict)
        breakdown = JobCostBreakdown.from_dict(d.pop("breakdown"))

        price_table = d.pop("price_table")

        total_usd = d.pop("total_usd")

        job_cost = cls(
            breakdown=breakdown,
            price_table=price_table,
            total_usd=total_usd,
        )

        job_cost.additional_properties = d
        return job_cost

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
