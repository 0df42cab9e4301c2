from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="StepCreate")


@_attrs_define
class StepCreate:
    """One step of a chained version.

    Attributes:
        name (str): 1 to 40 letters, digits, `-` or `_`; unique in the version.
        after (list[str] | Unset): The steps whose results are this step's content files, in this order (fan-in); the
            run's content when left out.
        context (None | str | Unset):
        context_artifact_id (None | str | Unset):
        lookup_artifact_ids (list[str] | None | Unset):
        schema (Any | Unset):
        schema_artifact_id (None | str | Unset):
    """

    name: str
    after: list[str] | Unset = UNSET
    context: None | str | Unset = UNSET
    context_artifact_id: None | str | Unset = UNSET
    lookup_artifact_ids: list[str] | None | Unset = UNSET
    schema: Any | Unset = UNSET
    schema_artifact_id: None | str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        name = self.name

        after: list[str] | Unset = UNSET
        if not isinstance(self.after, Unset):
            after = self.after

        context: None | str | Unset
        if isinstance(self.context, Unset):
            context = UNSET
        else:
            context = self.context

        context_artifact_id: None | str | Unset
        if isinstance(self.context_artifact_id, Unset):
            context_artifact_id = UNSET
        else:
            context_artifact_id = self.context_artifact_id

        lookup_artifact_ids: list[str] | None | Unset
        if isinstance(self.lookup_artifact_ids, Unset):
            lookup_artifact_ids = UNSET
        elif isinstance(self.lookup_artifact_ids, list):
            lookup_artifact_ids = self.lookup_artifact_ids

        else:
            lookup_artifact_ids = self.lookup_artifact_ids

        schema = self.schema

        schema_artifact_id: None | str | Unset
        if isinstance(self.schema_artifact_id, Unset):
            schema_artifact_id = UNSET
        else:
            schema_artifact_id = self.schema_artifact_id

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "name": name,
            }
        )
        if after is not UNSET:
            field_dict["after"] = after
        if context is not UNSET:
            field_dict["context"] = context
        if context_artifact_id is not UNSET:
            field_dict["context_artifact_id"] = context_artifact_id
        if lookup_artifact_ids is not UNSET:
            field_dict["lookup_artifact_ids"] = lookup_artifact_ids
        if schema is not UNSET:
            field_dict["schema"] = schema
        if schema_artifact_id is not UNSET:
            field_dict["schema_artifact_id"] = schema_artifact_id

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        name = d.pop("name")

        after = cast(list[str], d.pop("after", UNSET))

        def _parse_context(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        context = _parse_context(d.pop("context", UNSET))

        def _parse_context_artifact_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        context_artifact_id = _parse_context_artifact_id(
            d.pop("context_artifact_id", UNSET)
        )

        def _parse_lookup_artifact_ids(data: object) -> list[str] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                lookup_artifact_ids_type_0 = cast(list[str], data)

                return lookup_artifact_ids_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[str] | None | Unset, data)

        lookup_artifact_ids = _parse_lookup_artifact_ids(
            d.pop("lookup_artifact_ids", UNSET)
        )

        schema = d.pop("schema", UNSET)

        def _parse_schema_artifact_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        schema_artifact_id = _parse_schema_artifact_id(
            d.pop("schema_artifact_id", UNSET)
        )

        step_create = cls(
            name=name,
            after=after,
            context=context,
            context_artifact_id=context_artifact_id,
            lookup_artifact_ids=lookup_artifact_ids,
            schema=schema,
            schema_artifact_id=schema_artifact_id,
        )

        return step_create
