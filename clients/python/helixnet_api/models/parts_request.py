from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define

T = TypeVar("T", bound="PartsRequest")


@_attrs_define
class PartsRequest:
    """
    Attributes:
        checksums_sha256 (list[str]): Each listed part's SHA-256 in base64, in the order of `part_numbers`.
        part_numbers (list[int]):
    """

    checksums_sha256: list[str]
    part_numbers: list[int]

    def to_dict(self) -> dict[str, Any]:
        checksums_sha256 = self.checksums_sha256

        part_numbers = self.part_numbers

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "checksums_sha256": checksums_sha256,
                "part_numbers": part_numbers,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        checksums_sha256 = cast(list[str], d.pop("checksums_sha256"))

        part_numbers = cast(list[int], d.pop("part_numbers"))

        parts_request = cls(
            checksums_sha256=checksums_sha256,
            part_numbers=part_numbers,
        )

        return parts_request
