from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.pipeline_options import PipelineOptions
    from ..models.pipeline_step import PipelineStep


T = TypeVar("T", bound="PipelineVersion")


@_attrs_define
class PipelineVersion:
    """One saved state of a pipeline. Never changed once written: a change is a new version.

    Attributes:
        author (str): A user account's id (the `sub` of its tokens).
        created_at (datetime.datetime):
        pipeline_id (str): A team's pipeline: a named, versioned mapping.
        version (int):
        context_artifact_id (None | str | Unset):
        lookup_artifact_ids (list[str] | Unset):
        options (PipelineOptions | Unset): How a version's runs are made, beyond its documents.
        schema_artifact_id (None | str | Unset):
        steps (list[PipelineStep] | Unset): A chained version's steps (a DAG, see [`crate::chain`]): each a job with its
            own
            documents; the version's own documents are then unused. Empty for a one-job version.
    """

    author: str
    created_at: datetime.datetime
    pipeline_id: str
    version: int
    context_artifact_id: None | str | Unset = UNSET
    lookup_artifact_ids: list[str] | Unset = UNSET
    options: PipelineOptions | Unset = UNSET
    schema_artifact_id: None | str | Unset = UNSET
    steps: list[PipelineStep] | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        author = self.author

        created_at = self.created_at.isoformat()

        pipeline_id = self.pipeline_id

        version = self.version

        context_artifact_id: None | str | Unset
        if isinstance(self.context_artifact_id, Unset):
            context_artifact_id = UNSET
        else:
            context_artifact_id = self.context_artifact_id

        lookup_artifact_ids: list[str] | Unset = UNSET
        if not isinstance(self.lookup_artifact_ids, Unset):
            lookup_artifact_ids = self.lookup_artifact_ids

        options: dict[str, Any] | Unset = UNSET
        if not isinstance(self.options, Unset):
            options = self.options.to_dict()

        schema_artifact_id: None | str | Unset
        if isinstance(self.schema_artifact_id, Unset):
            schema_artifact_id = UNSET
        else:
            schema_artifact_id = self.schema_artifact_id

        steps: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.steps, Unset):
            steps = []
            for steps_item_data in self.steps:
                steps_item = steps_item_data.to_dict()
                steps.append(steps_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "author": author,
                "created_at": created_at,
                "pipeline_id": pipeline_id,
                "version": version,
            }
        )
        if context_artifact_id is not UNSET:
            field_dict["context_artifact_id"] = context_artifact_id
        if lookup_artifact_ids is not UNSET:
            field_dict["lookup_artifact_ids"] = lookup_artifact_ids
        if options is not UNSET:
            field_dict["options"] = options
        if schema_artifact_id is not UNSET:
            field_dict["schema_artifact_id"] = schema_artifact_id
        if steps is not UNSET:
            field_dict["steps"] = steps

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.pipeline_options import PipelineOptions
        from ..models.pipeline_step import PipelineStep

        d = dict(src_dict)
        author = d.pop("author")

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        pipeline_id = d.pop("pipeline_id")

        version = d.pop("version")

        def _parse_context_artifact_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        context_artifact_id = _parse_context_artifact_id(
            d.pop("context_artifact_id", UNSET)
        )

        lookup_artifact_ids = cast(list[str], d.pop("lookup_artifact_ids", UNSET))

        _options = d.pop("options", UNSET)
        options: PipelineOptions | Unset
        if isinstance(_options, Unset):
            options = UNSET
        else:
            options = PipelineOptions.from_dict(_options)

        def _parse_schema_artifact_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        schema_artifact_id = _parse_schema_artifact_id(
            d.pop("schema_artifact_id", UNSET)
        )

        _steps = d.pop("steps", UNSET)
        steps: list[PipelineStep] | Unset = UNSET
        if _steps is not UNSET:
            steps = []
            for steps_item_data in _steps:
                steps_item = PipelineStep.from_dict(steps_item_data)

                steps.append(steps_item)

        pipeline_version = cls(
            author=author,
            created_at=created_at,
            pipeline_id=pipeline_id,
            version=version,
            context_artifact_id=context_artifact_id,
            lookup_artifact_ids=lookup_artifact_ids,
            options=options,
            schema_artifact_id=schema_artifact_id,
            steps=steps,
        )

        pipeline_version.additional_properties = d
        return pipeline_version

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
