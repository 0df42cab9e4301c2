from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="PipelineDiff")


@_attrs_define
class PipelineDiff:
    """Two versions of a pipeline compared: unified diffs of their contexts and schemas (empty where
    the document is the same).

        Attributes:
            context (str):
            from_ (int):
            lookups_changed (bool): Whether the lookups or the options differ too (they are ids and flags, not text).
            options_changed (bool):
            pipeline_id (str): A team's pipeline: a named, versioned mapping.
            schema (str):
            to (int):
    """

    context: str
    from_: int
    lookups_changed: bool
    options_changed: bool
    pipeline_id: str
    schema: str
    to: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        context = self.context

        from_ = self.from_

        lookups_changed = self.lookups_changed

        options_changed = self.options_changed

        pipeline_id = self.pipeline_id

        schema = self.schema

        to = self.to

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "context": context,
                "from": from_,
                "lookups_changed": lookups_changed,
                "options_changed": options_changed,
                "pipeline_id": pipeline_id,
                "schema": schema,
                "to": to,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        context = d.pop("context")

        from_ = d.pop("from")

        lookups_changed = d.pop("lookups_changed")

        options_changed = d.pop("options_changed")

        pipeline_id = d.pop("pipeline_id")

        schema = d.pop("schema")

        to = d.pop("to")

        pipeline_diff = cls(
            context=context,
            from_=from_,
            lookups_changed=lookups_changed,
            options_changed=options_changed,
            pipeline_id=pipeline_id,
            schema=schema,
            to=to,
        )

        pipeline_diff.additional_properties = d
        return pipeline_diff

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
