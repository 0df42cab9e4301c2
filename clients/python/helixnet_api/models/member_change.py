from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define

from ..models.role import Role

T = TypeVar("T", bound="MemberChange")


@_attrs_define
class MemberChange:
    """
    Attributes:
        role (Role):
        user_id (str): A user account's id (the `sub` of its tokens).
    """

    role: Role
    user_id: str

    def to_dict(self) -> dict[str, Any]:
        role = self.role.value

        user_id = self.user_id

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "role": role,
                "user_id": user_id,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        role = Role(d.pop("role"))

        user_id = d.pop("user_id")

        member_change = cls(
            role=role,
            user_id=user_id,
        )

        return member_change
