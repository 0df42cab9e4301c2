from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="PipelineStep")


@_attrs_define
class PipelineStep:
    """One step of a chained version, as stored: its own documents, and the steps whose results are
    its content.

        Attributes:
            name (str):
            after (list[str] | Unset): The steps whose results are this step's content files, in this order; the run's
                content
                when empty.
            context_artifact_id (None | str | Unset):
            lookup_artifact_ids (list[str] | Unset):
            schema_artifact_id (None | str | Unset):
    """

    name: str
    after: list[str] | Unset = UNSET
    context_artifact_id: None | str | Unset = UNSET
    lookup_artifact_ids: list[str] | Unset = UNSET
    schema_artifact_id: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        name = self.name

        after: list[str] | Unset = UNSET
        if not isinstance(self.after, Unset):
            after = self.after

        context_artifact_id: None | str | Unset
        if isinstance(self.context_artifact_id, Unset):
            context_artifact_id = UNSET
        else:
            context_artifact_id = self.context_artifact_id

        lookup_artifact_ids: list[str] | Unset = UNSET
        if not isinstance(self.lookup_artifact_ids, Unset):
            lookup_artifact_ids = self.lookup_artifact_ids

        schema_artifact_id: None | str | Unset
        if isinstance(self.schema_artifact_id, Unset):
            schema_artifact_id = UNSET
        else:
            schema_artifact_id = self.schema_artifact_id

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "name": name,
            }
        )
        if after is not UNSET:
            field_dict["after"] = after
        if context_artifact_id is not UNSET:
            field_dict["context_artifact_id"] = context_artifact_id
        if lookup_artifact_ids is not UNSET:
            field_dict["lookup_artifact_ids"] = lookup_artifact_ids
        if schema_artifact_id is not UNSET:
            field_dict["schema_artifact_id"] = schema_artifact_id

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        name = d.pop("name")

        after = cast(list[str], d.pop("after", UNSET))

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

        def _parse_schema_artifact_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        schema_artifact_id = _parse_schema_artifact_id(
            d.pop("schema_artifact_id", UNSET)
        )

        pipeline_step = cls(
            name=name,
            after=after,
            context_artifact_id=context_artifact_id,
            lookup_artifact_ids=lookup_artifact_ids,
            schema_artifact_id=schema_artifact_id,
        )

        pipeline_step.additional_properties = d
        return pipeline_step

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
