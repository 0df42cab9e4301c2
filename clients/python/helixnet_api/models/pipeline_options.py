from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="PipelineOptions")


@_attrs_define
class PipelineOptions:
    """How a version's runs are made, beyond its documents.

    Attributes:
        auto_map (bool | Unset): As a job's `auto_map`: required target fields the context leaves unmapped are proposed
            by
            the mapping suggestion. Needs a context and a schema.
    """

    auto_map: bool | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        auto_map = self.auto_map

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if auto_map is not UNSET:
            field_dict["auto_map"] = auto_map

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        auto_map = d.pop("auto_map", UNSET)

        pipeline_options = cls(
            auto_map=auto_map,
        )

        return pipeline_options
