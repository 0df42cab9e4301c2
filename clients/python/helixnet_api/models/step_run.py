from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.step_status import StepStatus
from ..types import UNSET, Unset

T = TypeVar("T", bound="StepRun")


@_attrs_define
class StepRun:
    """One step of a run.

    Attributes:
        attempt (int): 1 for the step's first execution, one more for each retry of the run that executes it
            again; part of the step's job id.
        name (str):
        status (StepStatus): Where a step of a run stands.
        after (list[str] | Unset):
        error (None | str | Unset):
        job_id (None | str | Unset):
        result_artifact_id (None | str | Unset):
        submitted_by (None | str | Unset): What submits the job: the upstream step whose completion made the step ready,
            `start` or
            `retry-<n>`. Only a report of that end submits it (again, after a crash), never another.
    """

    attempt: int
    name: str
    status: StepStatus
    after: list[str] | Unset = UNSET
    error: None | str | Unset = UNSET
    job_id: None | str | Unset = UNSET
    result_artifact_id: None | str | Unset = UNSET
    submitted_by: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        attempt = self.attempt

        name = self.name

        status = self.status.value

        after: list[str] | Unset = UNSET
        if not isinstance(self.after, Unset):
            after = self.after

        error: None | str | Unset
        if isinstance(self.error, Unset):
            error = UNSET
        else:
            error = self.error

        job_id: None | str | Unset
        if isinstance(self.job_id, Unset):
            job_id = UNSET
        else:
            job_id = self.job_id

        result_artifact_id: None | str | Unset
        if isinstance(self.result_artifact_id, Unset):
            result_artifact_id = UNSET
        else:
            result_artifact_id = self.result_artifact_id

        submitted_by: None | str | Unset
        if isinstance(self.submitted_by, Unset):
            submitted_by = UNSET
        else:
            submitted_by = self.submitted_by

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "attempt": attempt,
                "name": name,
                "status": status,
            }
        )
        if after is not UNSET:
            field_dict["after"] = after
        if error is not UNSET:
            field_dict["error"] = error
        if job_id is not UNSET:
            field_dict["job_id"] = job_id
        if result_artifact_id is not UNSET:
            field_dict["result_artifact_id"] = result_artifact_id
        if submitted_by is not UNSET:
            field_dict["submitted_by"] = submitted_by

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        attempt = d.pop("attempt")

        name = d.pop("name")

        status = StepStatus(d.pop("status"))

        after = cast(list[str], d.pop("after", UNSET))

        def _parse_error(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        error = _parse_error(d.pop("error", UNSET))

        def _parse_job_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        job_id = _parse_job_id(d.pop("job_id", UNSET))

        def _parse_result_artifact_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        result_artifact_id = _parse_result_artifact_id(
            d.pop("result_artifact_id", UNSET)
        )

        def _parse_submitted_by(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        submitted_by = _parse_submitted_by(d.pop("submitted_by", UNSET))

        step_run = cls(
            attempt=attempt,
            name=name,
            status=status,
            after=after,
            error=error,
            job_id=job_id,
            result_artifact_id=result_artifact_id,
            submitted_by=submitted_by,
        )

        step_run.additional_properties = d
        return step_run

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
