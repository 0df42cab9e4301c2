from __future__ import annotations

from collections.abc import Mapping
from io import BytesIO
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from .. import types
from ..types import UNSET, File, FileTypes, Unset

T = TypeVar("T", bound="JobUpload")


@_attrs_define
class JobUpload:
    """`POST /jobs/upload`: the files themselves in one `multipart/form-data` body (for documentation:
    the handler reads the parts one by one).

        Attributes:
            content_file (File): The content file (CSV, fixed-width, SAP IDoc, JSON/NDJSON, XML).
            auto_map (bool | Unset): As for `POST /jobs`.
            context_file (File | Unset): Mapping rules (YAML).
            name (str | Unset): UTF-8 text, at most 200 characters (after trimming).
            schema_file (File | Unset): The target JSON Schema.
            team_id (str | Unset): The team the job belongs to; default: the caller's personal team (an API key's: its
                team).
    """

    content_file: File
    auto_map: bool | Unset = UNSET
    context_file: File | Unset = UNSET
    name: str | Unset = UNSET
    schema_file: File | Unset = UNSET
    team_id: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        content_file = self.content_file.to_tuple()

        auto_map = self.auto_map

        context_file: FileTypes | Unset = UNSET
        if not isinstance(self.context_file, Unset):
            context_file = self.context_file.to_tuple()

        name = self.name

        schema_file: FileTypes | Unset = UNSET
        if not isinstance(self.schema_file, Unset):
            schema_file = self.schema_file.to_tuple()

        team_id = self.team_id

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "content_file": content_file,
            }
        )
        if auto_map is not UNSET:
            field_dict["auto_map"] = auto_map
        if context_file is not UNSET:
            field_dict["context_file"] = context_file
        if name is not UNSET:
            field_dict["name"] = name
        if schema_file is not UNSET:
            field_dict["schema_file"] = schema_file
        if team_id is not UNSET:
            field_dict["team_id"] = team_id

        return field_dict

    def to_multipart(self) -> types.RequestFiles:
        files: types.RequestFiles = []

        files.append(("content_file", self.content_file.to_tuple()))

        if not isinstance(self.auto_map, Unset):
            files.append(
                ("auto_map", (None, str(self.auto_map).encode(), "text/plain"))
            )

        if not isinstance(self.context_file, Unset):
            files.append(("context_file", self.context_file.to_tuple()))

        if not isinstance(self.name, Unset):
            files.append(("name", (None, str(self.name).encode(), "text/plain")))

        if not isinstance(self.schema_file, Unset):
            files.append(("schema_file", self.schema_file.to_tuple()))

        if not isinstance(self.team_id, Unset):
            files.append(("team_id", (None, str(self.team_id).encode(), "text/plain")))

        for prop_name, prop in self.additional_properties.items():
            files.append((prop_name, (None, str(prop).encode(), "text/plain")))

        return files

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        content_file = File(payload=BytesIO(d.pop("content_file")))

        auto_map = d.pop("auto_map", UNSET)

        _context_file = d.pop("context_file", UNSET)
        context_file: File | Unset
        if isinstance(_context_file, Unset):
            context_file = UNSET
        else:
            context_file = File(payload=BytesIO(_context_file))

        name = d.pop("name", UNSET)

        _schema_file = d.pop("schema_file", UNSET)
        schema_file: File | Unset
        if isinstance(_schema_file, Unset):
            schema_file = UNSET
        else:
            schema_file = File(payload=BytesIO(_schema_file))

        team_id = d.pop("team_id", UNSET)

        job_upload = cls(
            content_file=content_file,
            auto_map=auto_map,
            context_file=context_file,
            name=name,
            schema_file=schema_file,
            team_id=team_id,
        )

        job_upload.additional_properties = d
        return job_upload

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
