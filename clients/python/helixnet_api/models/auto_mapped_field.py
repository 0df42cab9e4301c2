from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="AutoMappedField")


@_attrs_define
class AutoMappedField:
    """A target field that `auto_map` filled in: the source column proposed for it and the
    proposal's confidence.

        Attributes:
            field (str): The target field's dotted path, as the context's `fields:` names it (`customer.id`).
            score (float):
            source (str):
    """

    field: str
    score: float
    source: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        field = self.field

        score = self.score

        source = self.source

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "field": field,
                "score": score,
                "source": source,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        field = d.pop("field")

        score = d.pop("score")

        source = d.pop("source")

        auto_mapped_field = cls(
            field=field,
            score=score,
            source=source,
        )

        auto_mapped_field.additional_properties = d
        return auto_mapped_field

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
