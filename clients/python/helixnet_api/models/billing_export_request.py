from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define

T = TypeVar("T", bound="BillingExportRequest")


@_attrs_define
class BillingExportRequest:
    """`POST /costs/billing-exports`: an uploaded AWS cost export to ingest.

    Attributes:
        artifact_id (str): An artifact's id: an uploaded input or a file a job wrote.
    """

    artifact_id: str

    def to_dict(self) -> dict[str, Any]:
        artifact_id = self.artifact_id

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "artifact_id": artifact_id,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        artifact_id = d.pop("artifact_id")

        billing_export_request = cls(
            artifact_id=artifact_id,
        )

        return billing_export_request
