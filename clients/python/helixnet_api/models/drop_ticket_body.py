from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.drop_ticket_body_headers import DropTicketBodyHeaders


T = TypeVar("T", bound="DropTicketBody")


@_attrs_define
class DropTicketBody:
    """Where to PUT a dropped file. Once stored it starts one run of the pipeline's current version.

    Attributes:
        expires_at (datetime.datetime):
        headers (DropTicketBodyHeaders): Send these headers with the PUT, unchanged: they are signed.
        inbox_object (str): `s3://<bucket>/inbox/<team>/<pipeline>/<filename>`
        method (str):
        upload_url (str):
    """

    expires_at: datetime.datetime
    headers: DropTicketBodyHeaders
    inbox_object: str
    method: str
    upload_url: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        expires_at = self.expires_at.isoformat()

        headers = self.headers.to_dict()

        inbox_object = self.inbox_object

        method = self.method

        upload_url = self.upload_url

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "expires_at": expires_at,
                "headers": headers,
                "inbox_object": inbox_object,
                "method": method,
                "upload_url": upload_url,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.drop_ticket_body_headers import DropTicketBodyHeaders

        d = dict(src_dict)
        expires_at = datetime.datetime.fromisoformat(d.pop("expires_at"))

        headers = DropTicketBodyHeaders.from_dict(d.pop("headers"))

        inbox_object = d.pop("inbox_object")

        method = d.pop("method")

        upload_url = d.pop("upload_url")

        drop_ticket_body = cls(
            expires_at=expires_at,
            headers=headers,
            inbox_object=inbox_object,
            method=method,
            upload_url=upload_url,
        )

        drop_ticket_body.additional_properties = d
        return drop_ticket_body

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
