from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.compared_field import ComparedField
    from ..models.compared_records import ComparedRecords
    from ..models.job_read import JobRead


T = TypeVar("T", bound="ComparisonRead")


@_attrs_define
class ComparisonRead:
    """A comparison as the API shows it: both runs, and once the candidate has completed, the
    difference of their outputs.

        Attributes:
            baseline (JobRead): The job as its owner sees it (`JobRead` in the API): the stored job less the worker's lease
                bookkeeping and the owner, with every optional field present (`null` when unset).
            candidate (JobRead): The job as its owner sees it (`JobRead` in the API): the stored job less the worker's lease
                bookkeeping and the owner, with every optional field present (`null` when unset).
            fields (list[ComparedField]): The fields that differ, most often first.
            pipeline_id (str): A team's pipeline: a named, versioned mapping.
            version (int):
            records (ComparedRecords | None | Unset):
    """

    baseline: JobRead
    candidate: JobRead
    fields: list[ComparedField]
    pipeline_id: str
    version: int
    records: ComparedRecords | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.compared_records import ComparedRecords

        baseline = self.baseline.to_dict()

        candidate = self.candidate.to_dict()

        fields = []
        for fields_item_data in self.fields:
            fields_item = fields_item_data.to_dict()
            fields.append(fields_item)

        pipeline_id = self.pipeline_id

        version = self.version

        records: dict[str, Any] | None | Unset
        if isinstance(self.records, Unset):
            records = UNSET
        elif isinstance(self.records, ComparedRecords):
            records = self.records.to_dict()
        else:
            records = self.records

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "baseline": baseline,
                "candidate": candidate,
                "fields": fields,
                "pipeline_id": pipeline_id,
                "version": version,
            }
        )
        if records is not UNSET:
            field_dict["records"] = records

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.compared_field import ComparedField
        from ..models.compared_records import ComparedRecords
        from ..models.job_read import JobRead

        d = dict(src_dict)
        baseline = JobRead.from_dict(d.pop("baseline"))

        candidate = JobRead.from_dict(d.pop("candidate"))

        fields = []
        _fields = d.pop("fields")
        for fields_item_data in _fields:
            fields_item = ComparedField.from_dict(fields_item_data)

            fields.append(fields_item)

        pipeline_id = d.pop("pipeline_id")

        version = d.pop("version")

        def _parse_records(data: object) -> ComparedRecords | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                records_type_1 = ComparedRecords.from_dict(data)

                return records_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(ComparedRecords | None | Unset, data)

        records = _parse_records(d.pop("records", UNSET))

        comparison_read = cls(
            baseline=baseline,
            candidate=candidate,
            fields=fields,
            pipeline_id=pipeline_id,
            version=version,
            records=records,
        )

        comparison_read.additional_properties = d
        return comparison_read

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
