from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.part_url_body_headers import PartUrlBodyHeaders


T = TypeVar("T", bound="PartUrlBody")


@_attrs_define
class PartUrlBody:
    """
    Attributes:
        expires_at (datetime.datetime):
        headers (PartUrlBodyHeaders): Send these headers with the PUT, unchanged: they are signed (length and SHA-256).
        method (str):
        part_number (int):
        url (str):
    """

    expires_at: datetime.datetime
    headers: PartUrlBodyHeaders
    method: str
    part_number: int
    url: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        expires_at = self.expires_at.isoformat()

        headers = self.headers.to_dict()

        method = self.method

        part_number = self.part_number

        url = self.url

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "expires_at": expires_at,
                "headers": headers,
                "method": method,
                "part_number": part_number,
                "url": url,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.part_url_body_headers import PartUrlBodyHeaders

        d = dict(src_dict)
        expires_at = datetime.datetime.fromisoformat(d.pop("expires_at"))

        headers = PartUrlBodyHeaders.from_dict(d.pop("headers"))

        method = d.pop("method")

        part_number = d.pop("part_number")

        url = d.pop("url")

        part_url_body = cls(
            expires_at=expires_at,
            headers=headers,
            method=method,
            part_number=part_number,
            url=url,
        )

        part_url_body.additional_properties = d
        return part_url_body

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
