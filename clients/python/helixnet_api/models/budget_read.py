from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="BudgetRead")


@_attrs_define
class BudgetRead:
    """A team's budget and how much of it this month has spent.

    Attributes:
        hard_stop (bool):
        month (str): `YYYY-MM` (UTC).
        price_table (str):
        spent_usd (float):
        state (str): `none` (no budget), `ok`, `warning` (80 % or more), `exceeded` (100 % or more).
        team_id (str): A team: it owns jobs and artifacts. Every user has a personal one.
        monthly_usd (float | None | Unset): `null`: the team has no budget.
        percent (float | None | Unset): `spent_usd` as a percentage of `monthly_usd`; `null` without a budget.
    """

    hard_stop: bool
    month: str
    price_table: str
    spent_usd: float
    state: str
    team_id: str
    monthly_usd: float | None | Unset = UNSET
    percent: float | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        hard_stop = self.hard_stop

        month = self.month

        price_table = self.price_table

        spent_usd = self.spent_usd

        state = self.state

        team_id = self.team_id

        monthly_usd: float | None | Unset
        if isinstance(self.monthly_usd, Unset):
            monthly_usd = UNSET
        else:
            monthly_usd = self.monthly_usd

        percent: float | None | Unset
        if isinstance(self.percent, Unset):
            percent = UNSET
        else:
            percent = self.percent

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "hard_stop": hard_stop,
                "month": month,
                "price_table": price_table,
                "spent_usd": spent_usd,
                "state": state,
                "team_id": team_id,
            }
        )
        if monthly_usd is not UNSET:
            field_dict["monthly_usd"] = monthly_usd
        if percent is not UNSET:
            field_dict["percent"] = percent

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        hard_stop = d.pop("hard_stop")

        month = d.pop("month")

        price_table = d.pop("price_table")

        spent_usd = d.pop("spent_usd")

        state = d.pop("state")

        team_id = d.pop("team_id")

        def _parse_monthly_usd(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        monthly_usd = _parse_monthly_usd(d.pop("monthly_usd", UNSET))

        def _parse_percent(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        percent = _parse_percent(d.pop("percent", UNSET))

        budget_read = cls(
            hard_stop=hard_stop,
            month=month,
            price_table=price_table,
            spent_usd=spent_usd,
            state=state,
            team_id=team_id,
            monthly_usd=monthly_usd,
            percent=percent,
        )

        budget_read.additional_properties = d
        return budget_read

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
