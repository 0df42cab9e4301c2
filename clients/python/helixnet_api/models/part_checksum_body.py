from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define

T = TypeVar("T", bound="PartChecksumBody")


@_attrs_define
class PartChecksumBody:
    """A part's number (1-based) and its SHA-256 in base64: S3 refuses a body that does not match.

    Attributes:
        checksum_sha256 (str):
        part_number (int):
    """

    checksum_sha256: str
    part_number: int

    def to_dict(self) -> dict[str, Any]:
        checksum_sha256 = self.checksum_sha256

        part_number = self.part_number

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "checksum_sha256": checksum_sha256,
                "part_number": part_number,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        checksum_sha256 = d.pop("checksum_sha256")

        part_number = d.pop("part_number")

        part_checksum_body = cls(
            checksum_sha256=checksum_sha256,
            part_number=part_number,
        )

        return part_checksum_body
