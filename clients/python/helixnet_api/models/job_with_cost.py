from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.job_kind import JobKind
from ..models.job_status import JobStatus
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.attempt_record import AttemptRecord
    from ..models.auto_mapped_field import AutoMappedField
    from ..models.input_reading import InputReading
    from ..models.job_cost import JobCost
    from ..models.job_inputs import JobInputs
    from ..models.shard_progress import ShardProgress


T = TypeVar("T", bound="JobWithCost")


@_attrs_define
class JobWithCost:
    """A job with what its metered usage cost so far.

    Attributes:
        attempts (int):
        auto_map (bool):
        auto_mapped_fields (list[AutoMappedField]): The fields `auto_map` proposed, once the job has completed.
        created_at (datetime.datetime):
        id (str): A job's id.
        inputs (JobInputs):
        inputs_read (list[InputReading]): How each content file was read: format, encoding, layout, and what decided
            each.
        kind (JobKind): What a job does.
        status (JobStatus):
        team_id (str): A team: it owns jobs and artifacts. Every user has a personal one.
        warnings (list[str]): Decisions the run took without being told (such as a detected encoding), with evidence.
        cost (JobCost): A job's cost in USD, with its breakdown per line of the price table and that table's version.
        attempt_history (list[AttemptRecord] | Unset): What each attempt did, oldest first: the latest 20 (`attempts`
            counts them all).
        auto_map_context_artifact_id (None | str | Unset):
        error (None | str | Unset):
        error_report_artifact_id (None | str | Unset):
        finished_at (datetime.datetime | None | Unset):
        name (None | str | Unset):
        pipeline_id (None | str | Unset):
        pipeline_version (int | None | Unset): The pipeline version the run used.
        records_in (int | None | Unset):
        records_out (int | None | Unset):
        records_rejected (int | None | Unset):
        result_artifact_id (None | str | Unset):
        result_path (None | str | Unset):
        retries (int | Unset): How often it was run again after failing or being cancelled (its attempts count them
            all).
        shards (None | ShardProgress | Unset):
        started_at (datetime.datetime | None | Unset):
    """

    attempts: int
    auto_map: bool
    auto_mapped_fields: list[AutoMappedField]
    created_at: datetime.datetime
    id: str
    inputs: JobInputs
    inputs_read: list[InputReading]
    kind: JobKind
    status: JobStatus
    team_id: str
    warnings: list[str]
    cost: JobCost
    attempt_history: list[AttemptRecord] | Unset = UNSET
    auto_map_context_artifact_id: None | str | Unset = UNSET
    error: None | str | Unset = UNSET
    error_report_artifact_id: None | str | Unset = UNSET
    finished_at: datetime.datetime | None | Unset = UNSET
    name: None | str | Unset = UNSET
    pipeline_id: None | str | Unset = UNSET
    pipeline_version: int | None | Unset = UNSET
    records_in: int | None | Unset = UNSET
    records_out: int | None | Unset = UNSET
    records_rejected: int | None | Unset = UNSET
    result_artifact_id: None | str | Unset = UNSET
    result_path: None | str | Unset = UNSET
    retries: int | Unset = UNSET
    shards: None | ShardProgress | Unset = UNSET
    started_at: datetime.datetime | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.shard_progress import ShardProgress

        attempts = self.attempts

        auto_map = self.auto_map

        auto_mapped_fields = []
        for auto_mapped_fields_item_data in self.auto_mapped_fields:
            auto_mapped_fields_item = auto_mapped_fields_item_data.to_dict()
            auto_mapped_fields.append(auto_mapped_fields_item)

        created_at = self.created_at.isoformat()

        id = self.id

        inputs = self.inputs.to_dict()

        inputs_read = []
        for inputs_read_item_data in self.inputs_read:
            inputs_read_item = inputs_read_item_data.to_dict()
            inputs_read.append(inputs_read_item)

        kind = self.kind.value

        status = self.status.value

        team_id = self.team_id

        warnings = self.warnings

        cost = self.cost.to_dict()

        attempt_history: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.attempt_history, Unset):
            attempt_history = []
            for attempt_history_item_data in self.attempt_history:
                attempt_history_item = attempt_history_item_data.to_dict()
                attempt_history.append(attempt_history_item)

        auto_map_context_artifact_id: None | str | Unset
        if isinstance(self.auto_map_context_artifact_id, Unset):
            auto_map_context_artifact_id = UNSET
        else:
            auto_map_context_artifact_id = self.auto_map_context_artifact_id

        error: None | str | Unset
        if isinstance(self.error, Unset):
            error = UNSET
        else:
            error = self.error

        error_report_artifact_id: None | str | Unset
        if isinstance(self.error_report_artifact_id, Unset):
            error_report_artifact_id = UNSET
        else:
            error_report_artifact_id = self.error_report_artifact_id

        finished_at: None | str | Unset
        if isinstance(self.finished_at, Unset):
            finished_at = UNSET
        elif isinstance(self.finished_at, datetime.datetime):
            finished_at = self.finished_at.isoformat()
        else:
            finished_at = self.finished_at

        name: None | str | Unset
        if isinstance(self.name, Unset):
            name = UNSET
        else:
            name = self.name

        pipeline_id: None | str | Unset
        if isinstance(self.pipeline_id, Unset):
            pipeline_id = UNSET
        else:
            pipeline_id = self.pipeline_id

        pipeline_version: int | None | Unset
        if isinstance(self.pipeline_version, Unset):
            pipeline_version = UNSET
        else:
            pipeline_version = self.pipeline_version

        records_in: int | None | Unset
        if isinstance(self.records_in, Unset):
            records_in = UNSET
        else:
            records_in = self.records_in

        records_out: int | None | Unset
        if isinstance(self.records_out, Unset):
            records_out = UNSET
        else:
            records_out = self.records_out

        records_rejected: int | None | Unset
        if isinstance(self.records_rejected, Unset):
            records_rejected = UNSET
        else:
            records_rejected = self.records_rejected

        result_artifact_id: None | str | Unset
        if isinstance(self.result_artifact_id, Unset):
            result_artifact_id = UNSET
        else:
            result_artifact_id = self.result_artifact_id

        result_path: None | str | Unset
        if isinstance(self.result_path, Unset):
            result_path = UNSET
        else:
            result_path = self.result_path

        retries = self.retries

        shards: dict[str, Any] | None | Unset
        if isinstance(self.shards, Unset):
            shards = UNSET
        elif isinstance(self.shards, ShardProgress):
            shards = self.shards.to_dict()
        else:
            shards = self.shards

        started_at: None | str | Unset
        if isinstance(self.started_at, Unset):
            started_at = UNSET
        elif isinstance(self.started_at, datetime.datetime):
            started_at = self.started_at.isoformat()
        else:
            started_at = self.started_at

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "attempts": attempts,
                "auto_map": auto_map,
                "auto_mapped_fields": auto_mapped_fields,
                "created_at": created_at,
                "id": id,
                "inputs": inputs,
                "inputs_read": inputs_read,
                "kind": kind,
                "status": status,
                "team_id": team_id,
                "warnings": warnings,
                "cost": cost,
            }
        )
        if attempt_history is not UNSET:
            field_dict["attempt_history"] = attempt_history
        if auto_map_context_artifact_id is not UNSET:
            field_dict["auto_map_context_artifact_id"] = auto_map_context_artifact_id
        if error is not UNSET:
            field_dict["error"] = error
        if error_report_artifact_id is not UNSET:
            field_dict["error_report_artifact_id"] = error_report_artifact_id
        if finished_at is not UNSET:
            field_dict["finished_at"] = finished_at
        if name is not UNSET:
            field_dict["name"] = name
        if pipeline_id is not UNSET:
            field_dict["pipeline_id"] = pipeline_id
        if pipeline_version is not UNSET:
            field_dict["pipeline_version"] = pipeline_version
        if records_in is not UNSET:
            field_dict["records_in"] = records_in
        if records_out is not UNSET:
            field_dict["records_out"] = records_out
        if records_rejected is not UNSET:
            field_dict["records_rejected"] = records_rejected
        if result_artifact_id is not UNSET:
            field_dict["result_artifact_id"] = result_artifact_id
        if result_path is not UNSET:
            field_dict["result_path"] = result_path
        if retries is not UNSET:
            field_dict["retries"] = retries
        if shards is not UNSET:
            field_dict["shards"] = shards
        if started_at is not UNSET:
            field_dict["started_at"] = started_at

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.attempt_record import AttemptRecord
        from ..models.auto_mapped_field import AutoMappedField
        from ..models.input_reading import InputReading
        from ..models.job_cost import JobCost
        from ..models.job_inputs import JobInputs
        from ..models.shard_progress import ShardProgress

        d = dict(src_dict)
        attempts = d.pop("attempts")

        auto_map = d.pop("auto_map")

        auto_mapped_fields = []
        _auto_mapped_fields = d.pop("auto_mapped_fields")
        for auto_mapped_fields_item_data in _auto_mapped_fields:
            auto_mapped_fields_item = AutoMappedField.from_dict(
                auto_mapped_fields_item_data
            )

            auto_mapped_fields.append(auto_mapped_fields_item)

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        id = d.pop("id")

        inputs = JobInputs.from_dict(d.pop("inputs"))

        inputs_read = []
        _inputs_read = d.pop("inputs_read")
        for inputs_read_item_data in _inputs_read:
            inputs_read_item = InputReading.from_dict(inputs_read_item_data)

            inputs_read.append(inputs_read_item)

        kind = JobKind(d.pop("kind"))

        status = JobStatus(d.pop("status"))

        team_id = d.pop("team_id")

        warnings = cast(list[str], d.pop("warnings"))

        cost = JobCost.from_dict(d.pop("cost"))

        _attempt_history = d.pop("attempt_history", UNSET)
        attempt_history: list[AttemptRecord] | Unset = UNSET
        if _attempt_history is not UNSET:
            attempt_history = []
            for attempt_history_item_data in _attempt_history:
                attempt_history_item = AttemptRecord.from_dict(
                    attempt_history_item_data
                )

                attempt_history.append(attempt_history_item)

        def _parse_auto_map_context_artifact_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        auto_map_context_artifact_id = _parse_auto_map_context_artifact_id(
            d.pop("auto_map_context_artifact_id", UNSET)
        )

        def _parse_error(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        error = _parse_error(d.pop("error", UNSET))

        def _parse_error_report_artifact_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        error_report_artifact_id = _parse_error_report_artifact_id(
            d.pop("error_report_artifact_id", UNSET)
        )

        def _parse_finished_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                finished_at_type_1 = datetime.datetime.fromisoformat(data)

                return finished_at_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        finished_at = _parse_finished_at(d.pop("finished_at", UNSET))

        def _parse_name(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        name = _parse_name(d.pop("name", UNSET))

        def _parse_pipeline_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        pipeline_id = _parse_pipeline_id(d.pop("pipeline_id", UNSET))

        def _parse_pipeline_version(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        pipeline_version = _parse_pipeline_version(d.pop("pipeline_version", UNSET))

        def _parse_records_in(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        records_in = _parse_records_in(d.pop("records_in", UNSET))

        def _parse_records_out(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        records_out = _parse_records_out(d.pop("records_out", UNSET))

        def _parse_records_rejected(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        records_rejected = _parse_records_rejected(d.pop("records_rejected", UNSET))

        def _parse_result_artifact_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        result_artifact_id = _parse_result_artifact_id(
            d.pop("result_artifact_id", UNSET)
        )

        def _parse_result_path(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        result_path = _parse_result_path(d.pop("result_path", UNSET))

        retries = d.pop("retries", UNSET)

        def _parse_shards(data: object) -> None | ShardProgress | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                shards_type_1 = ShardProgress.from_dict(data)

                return shards_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | ShardProgress | Unset, data)

        shards = _parse_shards(d.pop("shards", UNSET))

        def _parse_started_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                started_at_type_1 = datetime.datetime.fromisoformat(data)

                return started_at_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        started_at = _parse_started_at(d.pop("started_at", UNSET))

        job_with_cost = cls(
            attempts=attempts,
            auto_map=auto_map,
            auto_mapped_fields=auto_mapped_fields,
            created_at=created_at,
            id=id,
            inputs=inputs,
            inputs_read=inputs_read,
            kind=kind,
            status=status,
            team_id=team_id,
            warnings=warnings,
            cost=cost,
            attempt_history=attempt_history,
            auto_map_context_artifact_id=auto_map_context_artifact_id,
            error=error,
            error_report_artifact_id=error_report_artifact_id,
            finished_at=finished_at,
            name=name,
            pipeline_id=pipeline_id,
            pipeline_version=pipeline_version,
            records_in=records_in,
            records_out=records_out,
            records_rejected=records_rejected,
            result_artifact_id=result_artifact_id,
            result_path=result_path,
            retries=retries,
            shards=shards,
            started_at=started_at,
        )

        job_with_cost.additional_properties = d
        return job_with_cost

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
