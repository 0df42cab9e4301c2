from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define

T = TypeVar("T", bound="SsoRequest")


@_attrs_define
class SsoRequest:
    """`POST /auth/sso`: an access token of a configured external OIDC issuer.

    Attributes:
        access_token (str):
    """

    access_token: str

    def to_dict(self) -> dict[str, Any]:
        access_token = self.access_token

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "access_token": access_token,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        access_token = d.pop("access_token")

        sso_request = cls(
            access_token=access_token,
        )

        return sso_request
