from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.cost_row_breakdown import CostRowBreakdown


T = TypeVar("T", bound="CostRow")


@_attrs_define
class CostRow:
    """One group's cost over the range.

    Attributes:
        breakdown (CostRowBreakdown):
        key (str): The group's value: a team id, a pipeline id (`none` for jobs of no pipeline), a user id, a
            job kind or a day.
        records (int): Records read by the jobs that completed.
        total_usd (float):
        unpriced (list[str] | Unset): GPU instance types with no price in the table: their time is not in the total.
        usd_per_million_records (float | None | Unset): `total_usd` per million records; `null` without records.
    """

    breakdown: CostRowBreakdown
    key: str
    records: int
    total_usd: float
    unpriced: list[str] | Unset = UNSET
    usd_per_million_records: float | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        breakdown = self.breakdown.to_dict()

        key = self.key

        records = self.records

        total_usd = self.total_usd

        unpriced: list[str] | Unset = UNSET
        if not isinstance(self.unpriced, Unset):
            unpriced = self.unpriced

        usd_per_million_records: float | None | Unset
        if isinstance(self.usd_per_million_records, Unset):
            usd_per_million_records = UNSET
        else:
            usd_per_million_records = self.usd_per_million_records

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "breakdown": breakdown,
                "key": key,
                "records": records,
                "total_usd": total_usd,
            }
        )
        if unpriced is not UNSET:
            field_dict["unpriced"] = unpriced
        if usd_per_million_records is not UNSET:
            field_dict["usd_per_million_records"] = usd_per_million_records

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.cost_row_breakdown import CostRowBreakdown

        d = dict(src_dict)
        breakdown = CostRowBreakdown.from_dict(d.pop("breakdown"))

        key = d.pop("key")

        records = d.pop("records")

        total_usd = d.pop("total_usd")

        unpriced = cast(list[str], d.pop("unpriced", UNSET))

        def _parse_usd_per_million_records(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        usd_per_million_records = _parse_usd_per_million_records(
            d.pop("usd_per_million_records", UNSET)
        )

        cost_row = cls(
            breakdown=breakdown,
            key=key,
            records=records,
            total_usd=total_usd,
            unpriced=unpriced,
            usd_per_million_records=usd_per_million_records,
        )

        cost_row.additional_properties = d
        return cost_row

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
