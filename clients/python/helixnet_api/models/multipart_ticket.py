from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.part_url_body import PartUrlBody


T = TypeVar("T", bound="MultipartTicket")


@_attrs_define
class MultipartTicket:
    """A multipart upload: PUT each part (`part_size` bytes, the last one the rest) to its URL with
    its headers, then `POST /artifacts/{id}/complete` with every part's ETag.

        Attributes:
            artifact_id (str): An artifact's id: an uploaded input or a file a job wrote.
            expires_at (datetime.datetime):
            part_count (int):
            part_size (int):
            parts (list[PartUrlBody]): URLs for the parts whose checksums came with the request; more from `POST
                /artifacts/{id}/parts`.
            upload_id (str):
    """

    artifact_id: str
    expires_at: datetime.datetime
    part_count: int
    part_size: int
    parts: list[PartUrlBody]
    upload_id: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        artifact_id = self.artifact_id

        expires_at = self.expires_at.isoformat()

        part_count = self.part_count

        part_size = self.part_size

        parts = []
        for parts_item_data in self.parts:
            parts_item = parts_item_data.to_dict()
            parts.append(parts_item)

        upload_id = self.upload_id

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "artifact_id": artifact_id,
                "expires_at": expires_at,
                "part_count": part_count,
                "part_size": part_size,
                "parts": parts,
                "upload_id": upload_id,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.part_url_body import PartUrlBody

        d = dict(src_dict)
        artifact_id = d.pop("artifact_id")

        expires_at = datetime.datetime.fromisoformat(d.pop("expires_at"))

        part_count = d.pop("part_count")

        part_size = d.pop("part_size")

        parts = []
        _parts = d.pop("parts")
        for parts_item_data in _parts:
            parts_item = PartUrlBody.from_dict(parts_item_data)

            parts.append(parts_item)

        upload_id = d.pop("upload_id")

        multipart_ticket = cls(
            artifact_id=artifact_id,
            expires_at=expires_at,
            part_count=part_count,
            part_size=part_size,
            parts=parts,
            upload_id=upload_id,
        )

        multipart_ticket.additional_properties = d
        return multipart_ticket

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
