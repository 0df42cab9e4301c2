from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..models.job_kind import JobKind
from ..types import UNSET, Unset

T = TypeVar("T", bound="JobCreate")


@_attrs_define
class JobCreate:
    """
    Attributes:
        content_artifact_ids (list[str]): The content artifacts to transform, 1 to 20.
        auto_map (bool | Unset): `transform` only, with a context and a schema: the target fields the schema requires
            and
            the context leaves unmapped are proposed by the mapping suggestion (recorded on the job as
            `auto_mapped_fields`) and added to the context the job runs with.
        context (None | str | Unset): Mapping rules as YAML text, instead of `context_artifact_id`.
        context_artifact_id (None | str | Unset):
        kind (JobKind | Unset): What a job does.
        lookup_artifact_ids (list[str] | Unset): The CSV tables the context's `lookups:` read (content artifacts), one
            per declared table,
            matched to it by file name.
        name (None | str | Unset): At most 200 characters (after trimming).
        schema (Any | Unset): The target JSON Schema (an object, or its JSON text), instead of `schema_artifact_id`.
        schema_artifact_id (None | str | Unset):
        team_id (None | str | Unset):
    """

    content_artifact_ids: list[str]
    auto_map: bool | Unset = UNSET
    context: None | str | Unset = UNSET
    context_artifact_id: None | str | Unset = UNSET
    kind: JobKind | Unset = UNSET
    lookup_artifact_ids: list[str] | Unset = UNSET
    name: None | str | Unset = UNSET
    schema: Any | Unset = UNSET
    schema_artifact_id: None | str | Unset = UNSET
    team_id: None | str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        content_artifact_ids = self.content_artifact_ids

        auto_map = self.auto_map

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

        kind: str | Unset = UNSET
        if not isinstance(self.kind, Unset):
            kind = self.kind.value

        lookup_artifact_ids: list[str] | Unset = UNSET
        if not isinstance(self.lookup_artifact_ids, Unset):
            lookup_artifact_ids = self.lookup_artifact_ids

        name: None | str | Unset
        if isinstance(self.name, Unset):
            name = UNSET
        else:
            name = self.name

        schema = self.schema

        schema_artifact_id: None | str | Unset
        if isinstance(self.schema_artifact_id, Unset):
            schema_artifact_id = UNSET
        else:
            schema_artifact_id = self.schema_artifact_id

        team_id: None | str | Unset
        if isinstance(self.team_id, Unset):
            team_id = UNSET
        else:
            team_id = self.team_id

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "content_artifact_ids": content_artifact_ids,
            }
        )
        if auto_map is not UNSET:
            field_dict["auto_map"] = auto_map
        if context is not UNSET:
            field_dict["context"] = context
        if context_artifact_id is not UNSET:
            field_dict["context_artifact_id"] = context_artifact_id
        if kind is not UNSET:
            field_dict["kind"] = kind
        if lookup_artifact_ids is not UNSET:
            field_dict["lookup_artifact_ids"] = lookup_artifact_ids
        if name is not UNSET:
            field_dict["name"] = name
        if schema is not UNSET:
            field_dict["schema"] = schema
        if schema_artifact_id is not UNSET:
            field_dict["schema_artifact_id"] = schema_artifact_id
        if team_id is not UNSET:
            field_dict["team_id"] = team_id

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        content_artifact_ids = cast(list[str], d.pop("content_artifact_ids"))

        auto_map = d.pop("auto_map", UNSET)

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

        _kind = d.pop("kind", UNSET)
        kind: JobKind | Unset
        if isinstance(_kind, Unset):
            kind = UNSET
        else:
            kind = JobKind(_kind)

        lookup_artifact_ids = cast(list[str], d.pop("lookup_artifact_ids", UNSET))

        def _parse_name(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        name = _parse_name(d.pop("name", UNSET))

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

        def _parse_team_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        team_id = _parse_team_id(d.pop("team_id", UNSET))

        job_create = cls(
            content_artifact_ids=content_artifact_ids,
            auto_map=auto_map,
            context=context,
            context_artifact_id=context_artifact_id,
            kind=kind,
            lookup_artifact_ids=lookup_artifact_ids,
            name=name,
            schema=schema,
            schema_artifact_id=schema_artifact_id,
            team_id=team_id,
        )

        return job_create
