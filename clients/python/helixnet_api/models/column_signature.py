from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="ColumnSignature")


@_attrs_define
class ColumnSignature:
    """What a column's sampled values looked like: enough to know the column again under another
    name or at another place in a later file of the same source.

        Attributes:
            distinct_ratio (float): Distinct values per non-empty value in the sample (1: every value differs, a key).
            kind (str): The values' common shape: `empty`, `boolean`, `integer`, `decimal`, `date`, `date-time`,
                `email` or `text`.
            max_len (int):
            min_len (int): Shortest and longest non-empty value, in characters.
            values (list[str]): The most frequent values, most frequent first (at most a dozen).
            max_ (float | None | Unset):
            min_ (float | None | Unset): The smallest and largest value of a numeric column.
            shapes (list[str] | Unset): The values' most frequent shapes, most frequent first: each run of digits `9`, of
                letters `a`, of both `x`, other characters as they are (`9-9-9` for an ISO date).
    """

    distinct_ratio: float
    kind: str
    max_len: int
    min_len: int
    values: list[str]
    max_: float | None | Unset = UNSET
    min_: float | None | Unset = UNSET
    shapes: list[str] | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        distinct_ratio = self.distinct_ratio

        kind = self.kind

        max_len = self.max_len

        min_len = self.min_len

        values = self.values

        max_: float | None | Unset
        if isinstance(self.max_, Unset):
            max_ = UNSET
        else:
            max_ = self.max_

        min_: float | None | Unset
        if isinstance(self.min_, Unset):
            min_ = UNSET
        else:
            min_ = self.min_

        shapes: list[str] | Unset = UNSET
        if not isinstance(self.shapes, Unset):
            shapes = self.shapes

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "distinct_ratio": distinct_ratio,
                "kind": kind,
                "max_len": max_len,
                "min_len": min_len,
                "values": values,
            }
        )
        if max_ is not UNSET:
            field_dict["max"] = max_
        if min_ is not UNSET:
            field_dict["min"] = min_
        if shapes is not UNSET:
            field_dict["shapes"] = shapes

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        distinct_ratio = d.pop("distinct_ratio")

        kind = d.pop("kind")

        max_len = d.pop("max_len")

        min_len = d.pop("min_len")

        values = cast(list[str], d.pop("values"))

        def _parse_max_(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        max_ = _parse_max_(d.pop("max", UNSET))

        def _parse_min_(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        min_ = _parse_min_(d.pop("min", UNSET))

        shapes = cast(list[str], d.pop("shapes", UNSET))

        column_signature = cls(
            distinct_ratio=distinct_ratio,
            kind=kind,
            max_len=max_len,
            min_len=min_len,
            values=values,
            max_=max_,
            min_=min_,
            shapes=shapes,
        )

        column_signature.additional_properties = d
        return column_signature

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
