from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.field_example import FieldExample


T = TypeVar("T", bound="ComparedField")


@_attrs_define
class ComparedField:
    """One target field that differs between two runs (a dotted path: `customer.id`, `lines[0].sku`).

    Attributes:
        added (int): Records where only the candidate wrote it.
        changed (int): Records where both runs wrote the field, with different values.
        examples (list[FieldExample]): A few of them: the record and both values (`null` where a run did not write the
            field).
        field (str):
        removed (int): Records where only the baseline wrote it.
    """

    added: int
    changed: int
    examples: list[FieldExample]
    field: str
    removed: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        added = self.added

        changed = self.changed

        examples = []
        for examples_item_data in self.examples:
            examples_item = examples_item_data.to_dict()
            examples.append(examples_item)

        field = self.field

        removed = self.removed

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "added": added,
                "changed": changed,
                "examples": examples,
                "field": field,
                "removed": removed,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.field_example import FieldExample

        d = dict(src_dict)
        added = d.pop("added")

        changed = d.pop("changed")

        examples = []
        _examples = d.pop("examples")
        for examples_item_data in _examples:
            examples_item = FieldExample.from_dict(examples_item_data)

            examples.append(examples_item)

        field = d.pop("field")

        removed = d.pop("removed")

        compared_field = cls(
            added=added,
            changed=changed,
            examples=examples,
            field=field,
            removed=removed,
        )

        compared_field.additional_properties = d
        return compared_field

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
