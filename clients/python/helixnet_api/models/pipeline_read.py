from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="PipelineRead")


@_attrs_define
class PipelineRead:
    """A pipeline's JSON in the API.

    Attributes:
        created_at (datetime.datetime):
        created_by (str): A user account's id (the `sub` of its tokens).
        current_version (int):
        id (str): A team's pipeline: a named, versioned mapping.
        inbox (str): `s3://<bucket>/inbox/<team>/<pipeline>/`: where the pipeline's input files are dropped.
        name (str):
        patterns (list[str]): The file names the inbox takes (globs: `*`, `?`, `[abc]`); every name when empty. A file
            that matches none is recorded and left in the inbox.
        team_id (str): A team: it owns jobs and artifacts. Every user has a personal one.
        updated_at (datetime.datetime):
        archived_at (datetime.datetime | None | Unset):
    """

    created_at: datetime.datetime
    created_by: str
    current_version: int
    id: str
    inbox: str
    name: str
    patterns: list[str]
    team_id: str
    updated_at: datetime.datetime
    archived_at: datetime.datetime | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        created_at = self.created_at.isoformat()

        created_by = self.created_by

        current_version = self.current_version

        id = self.id

        inbox = self.inbox

        name = self.name

        patterns = self.patterns

        team_id = self.team_id

        updated_at = self.updated_at.isoformat()

        archived_at: None | str | Unset
        if isinstance(self.archived_at, Unset):
            archived_at = UNSET
        elif isinstance(self.archived_at, datetime.datetime):
            archived_at = self.archived_at.isoformat()
        else:
            archived_at = self.archived_at

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "created_at": created_at,
                "created_by": created_by,
                "current_version": current_version,
                "id": id,
                "inbox": inbox,
                "name": name,
                "patterns": patterns,
                "team_id": team_id,
                "updated_at": updated_at,
            }
        )
        if archived_at is not UNSET:
            field_dict["archived_at"] = archived_at

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        created_by = d.pop("created_by")

        current_version = d.pop("current_version")

        id = d.pop("id")

        inbox = d.pop("inbox")

        name = d.pop("name")

        patterns = cast(list[str], d.pop("patterns"))

        team_id = d.pop("team_id")

        updated_at = datetime.datetime.fromisoformat(d.pop("updated_at"))

        def _parse_archived_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                archived_at_type_1 = datetime.datetime.fromisoformat(data)

                return archived_at_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        archived_at = _parse_archived_at(d.pop("archived_at", UNSET))

        pipeline_read = cls(
            created_at=created_at,
            created_by=created_by,
            current_version=current_version,
            id=id,
            inbox=inbox,
            name=name,
            patterns=patterns,
            team_id=team_id,
            updated_at=updated_at,
            archived_at=archived_at,
        )

        pipeline_read.additional_properties = d
        return pipeline_read

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
