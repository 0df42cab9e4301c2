from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="BudgetUpdate")


@_attrs_define
class BudgetUpdate:
    """The body of `PUT /teams/{id}/budget`.

    Attributes:
        monthly_usd (float): USD per calendar month (UTC), more than 0.
        hard_stop (bool | Unset): Refuse new jobs (403 `budget_exceeded`) once the month's cost reaches the budget.
    """

    monthly_usd: float
    hard_stop: bool | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        monthly_usd = self.monthly_usd

        hard_stop = self.hard_stop

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "monthly_usd": monthly_usd,
            }
        )
        if hard_stop is not UNSET:
            field_dict["hard_stop"] = hard_stop

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        monthly_usd = d.pop("monthly_usd")

        hard_stop = d.pop("hard_stop", UNSET)

        budget_update = cls(
            monthly_usd=monthly_usd,
            hard_stop=hard_stop,
        )

        return budget_update
