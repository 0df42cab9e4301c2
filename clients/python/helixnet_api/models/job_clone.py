from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="JobClone")


@_attrs_define
class JobClone:
    """What a clone replaces of the job's inputs; everything left out is the job's.

    Attributes:
        auto_map (bool | None | Unset):
        context_artifact_id (None | str | Unset):
        lookup_artifact_ids (list[str] | None | Unset):
        name (None | str | Unset):
        schema_artifact_id (None | str | Unset):
    """

    auto_map: bool | None | Unset = UNSET
    context_artifact_id: None | str | Unset = UNSET
    lookup_artifact_ids: list[str] | None | Unset = UNSET
    name: None | str | Unset = UNSET
    schema_artifact_id: None | str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        auto_map: bool | None | Unset
        if isinstance(self.auto_map, Unset):
            auto_map = UNSET
        else:
            auto_map = self.auto_map

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

        name: None | str | Unset
        if isinstance(self.name, Unset):
            name = UNSET
        else:
            name = self.name

        schema_artifact_id: None | str | Unset
        if isinstance(self.schema_artifact_id, Unset):
            schema_artifact_id = UNSET
        else:
            schema_artifact_id = self.schema_artifact_id

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if auto_map is not UNSET:
            field_dict["auto_map"] = auto_map
        if context_artifact_id is not UNSET:
            field_dict["context_artifact_id"] = context_artifact_id
        if lookup_artifact_ids is not UNSET:
            field_dict["lookup_artifact_ids"] = lookup_artifact_ids
        if name is not UNSET:
            field_dict["name"] = name
        if schema_artifact_id is not UNSET:
            field_dict["schema_artifact_id"] = schema_artifact_id

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)

        def _parse_auto_map(data: object) -> bool | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(bool | None | Unset, data)

        auto_map = _parse_auto_map(d.pop("auto_map", UNSET))

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

        def _parse_name(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        name = _parse_name(d.pop("name", UNSET))

        def _parse_schema_artifact_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        schema_artifact_id = _parse_schema_artifact_id(
            d.pop("schema_artifact_id", UNSET)
        )

        job_clone = cls(
            auto_map=auto_map,
            context_artifact_id=context_artifact_id,
            lookup_artifact_ids=lookup_artifact_ids,
            name=name,
            schema_artifact_id=schema_artifact_id,
        )

        return job_clone
