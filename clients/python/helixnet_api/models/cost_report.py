from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.cost_row import CostRow


T = TypeVar("T", bound="CostReport")


@_attrs_define
class CostReport:
    """
    Attributes:
        currency (str):
        from_ (str):
        group_by (str):
        groups (list[CostRow]): Most expensive first.
        price_table (str):
        to (str):
        total_usd (float):
        teams (list[str] | None | Unset): The teams the report covers; `null`: every team (a platform admin's).
    """

    currency: str
    from_: str
    group_by: str
    groups: list[CostRow]
    price_table: str
    to: str
    total_usd: float
    teams: list[str] | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        currency = self.currency

        from_ = self.from_

        group_by = self.group_by

        groups = []
        for groups_item_data in self.groups:
            groups_item = groups_item_data.to_dict()
            groups.append(groups_item)

        price_table = self.price_table

        to = self.to

        total_usd = self.total_usd

        teams: list[str] | None | Unset
        if isinstance(self.teams, Unset):
            teams = UNSET
        elif isinstance(self.teams, list):
            teams = self.teams

        else:
            teams = self.teams

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "currency": currency,
                "from": from_,
                "group_by": group_by,
                "groups": groups,
                "price_table": price_table,
                "to": to,
                "total_usd": total_usd,
            }
        )
        if teams is not UNSET:
            field_dict["teams"] = teams

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.cost_row import CostRow

        d = dict(src_dict)
        currency = d.pop("currency")

        from_ = d.pop("from")

        group_by = d.pop("group_by")

        groups = []
        _groups = d.pop("groups")
        for groups_item_data in _groups:
            groups_item = CostRow.from_dict(groups_item_data)

            groups.append(groups_item)

        price_table = d.pop("price_table")

        to = d.pop("to")

        total_usd = d.pop("total_usd")

        def _parse_teams(data: object) -> list[str] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                teams_type_0 = cast(list[str], data)

                return teams_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[str] | None | Unset, data)

        teams = _parse_teams(d.pop("teams", UNSET))

        cost_report = cls(
            currency=currency,
            from_=from_,
            group_by=group_by,
            groups=groups,
            price_table=price_table,
            to=to,
            total_usd=total_usd,
            teams=teams,
        )

        cost_report.additional_properties = d
        return cost_report

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
