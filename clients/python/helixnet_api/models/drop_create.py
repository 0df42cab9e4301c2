from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define

T = TypeVar("T", bound="DropCreate")


@_attrs_define
class DropCreate:
    """A file about to be dropped into the pipeline's inbox.

    Attributes:
        content_type (str): Sent with the PUT, unchanged: it is signed.
        filename (str): Its name in the inbox: one path segment, matching the pipeline's patterns.
        size_bytes (int): Its exact length; the PUT must send this many bytes.
    """

    content_type: str
    filename: str
    size_bytes: int

    def to_dict(self) -> dict[str, Any]:
        content_type = self.content_type

        filename = self.filename

        size_bytes = self.size_bytes

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "content_type": content_type,
                "filename": filename,
                "size_bytes": size_bytes,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        content_type = d.pop("content_type")

        filename = d.pop("filename")

        size_bytes = d.pop("size_bytes")

        drop_create = cls(
            content_type=content_type,
            filename=filename,
            size_bytes=size_bytes,
        )

        return drop_create
