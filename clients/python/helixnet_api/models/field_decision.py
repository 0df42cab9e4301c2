from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..models.decision import Decision
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.field_decision_value_map_type_0 import FieldDecisionValueMapType0


T = TypeVar("T", bound="FieldDecision")


@_attrs_define
class FieldDecision:
    """
    Attributes:
        decision (Decision): What the reviewer decided for one target field.
        field (str): The target field's dotted path, as the draft's report names it.
        source (None | str | Unset): With `change`: the source column (as the report's `columns` name it).
        value_map (FieldDecisionValueMapType0 | None | Unset): The field's value map (source value → target value),
            replacing the draft's; `{}` drops it.
    """

    decision: Decision
    field: str
    source: None | str | Unset = UNSET
    value_map: FieldDecisionValueMapType0 | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        from ..models.field_decision_value_map_type_0 import FieldDecisionValueMapType0

        decision = self.decision.value

        field = self.field

        source: None | str | Unset
        if isinstance(self.source, Unset):
            source = UNSET
        else:
            source = self.source

        value_map: dict[str, Any] | None | Unset
        if isinstance(self.value_map, Unset):
            value_map = UNSET
        elif isinstance(self.value_map, FieldDecisionValueMapType0):
            value_map = self.value_map.to_dict()
        else:
            value_map = self.value_map

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "decision": decision,
                "field": field,
            }
        )
        if source is not UNSET:
            field_dict["source"] = source
        if value_map is not UNSET:
            field_dict["value_map"] = value_map

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.field_decision_value_map_type_0 import FieldDecisionValueMapType0

        d = dict(src_dict)
        decision = Decision(d.pop("decision"))

        field = d.pop("field")

        def _parse_source(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        source = _parse_source(d.pop("source", UNSET))

        def _parse_value_map(data: object) -> FieldDecisionValueMapType0 | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                value_map_type_0 = FieldDecisionValueMapType0.from_dict(data)

                return value_map_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(FieldDecisionValueMapType0 | None | Unset, data)

        value_map = _parse_value_map(d.pop("value_map", UNSET))

        field_decision = cls(
            decision=decision,
            field=field,
            source=source,
            value_map=value_map,
        )

        return field_decision
