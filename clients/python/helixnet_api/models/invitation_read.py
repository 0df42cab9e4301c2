from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.role import Role

T = TypeVar("T", bound="InvitationRead")


@_attrs_define
class InvitationRead:
    """A new invitation. `token` is shown this once: only its hash is stored.

    Attributes:
        accept_path (str): Where the invited user sends `POST` (logged in) to join.
        expires_at (datetime.datetime):
        id (str): A team invitation (its token is a separate secret).
        role (Role):
        team_id (str): A team: it owns jobs and artifacts. Every user has a personal one.
        token (str):
    """

    accept_path: str
    expires_at: datetime.datetime
    id: str
    role: Role
    team_id: str
    token: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        accept_path = self.accept_path

        expires_at = self.expires_at.isoformat()

        id = self.id

        role = self.role.value

        team_id = self.team_id

        token = self.token

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "accept_path": accept_path,
                "expires_at": expires_at,
                "id": id,
                "role": role,
                "team_id": team_id,
                "token": token,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        accept_path = d.pop("accept_path")

        expires_at = datetime.datetime.fromisoformat(d.pop("expires_at"))

        id = d.pop("id")

        role = Role(d.pop("role"))

        team_id = d.pop("team_id")

        token = d.pop("token")

        invitation_read = cls(
            accept_path=accept_path,
            expires_at=expires_at,
            id=id,
            role=role,
            team_id=team_id,
            token=token,
        )

        invitation_read.additional_properties = d
        return invitation_read

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
