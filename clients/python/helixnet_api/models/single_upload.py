from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.single_upload_headers import SingleUploadHeaders


T = TypeVar("T", bound="SingleUpload")


@_attrs_define
class SingleUpload:
    """
    Attributes:
        artifact_id (str): An artifact's id: an uploaded input or a file a job wrote.
        expires_at (datetime.datetime):
        headers (SingleUploadHeaders): Send these headers with the PUT, unchanged: they are signed.
        method (str):
        upload_url (str):
    """

    artifact_id: str
    expires_at: datetime.datetime
    headers: SingleUploadHeaders
    method: str
    upload_url: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        artifact_id = self.artifact_id

        expires_at = self.expires_at.isoformat()

        headers = self.headers.to_dict()

        method = self.method

        upload_url = self.upload_url

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "artifact_id": artifact_id,
                "expires_at": expires_at,
                "headers": headers,
                "method": method,
                "upload_url": upload_url,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.single_upload_headers import SingleUploadHeaders

        d = dict(src_dict)
        artifact_id = d.pop("artifact_id")

        expires_at = datetime.datetime.fromisoformat(d.pop("expires_at"))

        headers = SingleUploadHeaders.from_dict(d.pop("headers"))

        method = d.pop("method")

        upload_url = d.pop("upload_url")

        single_upload = cls(
            artifact_id=artifact_id,
            expires_at=expires_at,
            headers=headers,
            method=method,
            upload_url=upload_url,
        )

        single_upload.additional_properties = d
        return single_upload

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
