from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.pipeline_options import PipelineOptions
    from ..models.step_create import StepCreate


T = TypeVar("T", bound="VersionCreate")


@_attrs_define
class VersionCreate:
    """A new version: what it gives replaces the current version's; what it leaves out is kept.

    Attributes:
        context (None | str | Unset):
        context_artifact_id (None | str | Unset):
        lookup_artifact_ids (list[str] | None | Unset):
        options (None | PipelineOptions | Unset):
        schema (Any | Unset):
        schema_artifact_id (None | str | Unset):
        steps (list[StepCreate] | None | Unset): The steps of a chained version, replacing the current ones; `[]` makes
            a one-job version.
            Kept when left out.
    """

    context: None | str | Unset = UNSET
    context_artifact_id: None | str | Unset = UNSET
    lookup_artifact_ids: list[str] | None | Unset = UNSET
    options: None | PipelineOptions | Unset = UNSET
    schema: Any | Unset = UNSET
    schema_artifact_id: None | str | Unset = UNSET
    steps: list[StepCreate] | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        from ..models.pipeline_options import PipelineOptions

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

        options: dict[str, Any] | None | Unset
        if isinstance(self.options, Unset):
            options = UNSET
        elif isinstance(self.options, PipelineOptions):
            options = self.options.to_dict()
        else:
            options = self.options

        schema = self.schema

        schema_artifact_id: None | str | Unset
        if isinstance(self.schema_artifact_id, Unset):
            schema_artifact_id = UNSET
        else:
            schema_artifact_id = self.schema_artifact_id

        steps: list[dict[str, Any]] | None | Unset
        if isinstance(self.steps, Unset):
            steps = UNSET
        elif isinstance(self.steps, list):
            steps = []
            for steps_type_0_item_data in self.steps:
                steps_type_0_item = steps_type_0_item_data.to_dict()
                steps.append(steps_type_0_item)

        else:
            steps = self.steps

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if context is not UNSET:
            field_dict["context"] = context
        if context_artifact_id is not UNSET:
            field_dict["context_artifact_id"] = context_artifact_id
        if lookup_artifact_ids is not UNSET:
            field_dict["lookup_artifact_ids"] = lookup_artifact_ids
        if options is not UNSET:
            field_dict["options"] = options
        if schema is not UNSET:
            field_dict["schema"] = schema
        if schema_artifact_id is not UNSET:
            field_dict["schema_artifact_id"] = schema_artifact_id
        if steps is not UNSET:
            field_dict["steps"] = steps

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.pipeline_options import PipelineOptions
        from ..models.step_create import StepCreate

        d = dict(src_dict)

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

        def _parse_options(data: object) -> None | PipelineOptions | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                options_type_1 = PipelineOptions.from_dict(data)

                return options_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | PipelineOptions | Unset, data)

        options = _parse_options(d.pop("options", UNSET))

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

        def _parse_steps(data: object) -> list[StepCreate] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                steps_type_0 = []
                _steps_type_0 = data
                for steps_type_0_item_data in _steps_type_0:
                    steps_type_0_item = StepCreate.from_dict(steps_type_0_item_data)

                    steps_type_0.append(steps_type_0_item)

                return steps_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[StepCreate] | None | Unset, data)

        steps = _parse_steps(d.pop("steps", UNSET))

        version_create = cls(
            context=context,
            context_artifact_id=context_artifact_id,
            lookup_artifact_ids=lookup_artifact_ids,
            options=options,
            schema=schema,
            schema_artifact_id=schema_artifact_id,
            steps=steps,
        )

        return version_create
