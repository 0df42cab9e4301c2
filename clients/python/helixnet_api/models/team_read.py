from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.plan import Plan
from ..models.role import Role

T = TypeVar("T", bound="TeamRead")


@_attrs_define
class TeamRead:
    """A team and the caller's role in it.

    Attributes:
        created_at (datetime.datetime):
        id (str): A team: it owns jobs and artifacts. Every user has a personal one.
        name (str):
        personal (bool): The caller's own team: one member, no invitations.
        plan (Plan):
        role (Role):
    """

    created_at: datetime.datetime
    id: str
    name: str
    personal: bool
    plan: Plan
    role: Role
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        created_at = self.created_at.isoformat()

        id = self.id

        name = self.name

        personal = self.personal

        plan = self.plan.value

        role = self.role.value

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "created_at": created_at,
                "id": id,
                "name": name,
                "personal": personal,
                "plan": plan,
                "role": role,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        id = d.pop("id")

        name = d.pop("name")

        personal = d.pop("personal")

        plan = Plan(d.pop("plan"))

        role = Role(d.pop("role"))

        team_read = cls(
            created_at=created_at,
            id=id,
            name=name,
            personal=personal,
            plan=plan,
            role=role,
        )

        team_read.additional_properties = d
        return team_read

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
