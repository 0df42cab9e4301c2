from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.schedule_input import ScheduleInput


T = TypeVar("T", bound="Schedule")


@_attrs_define
class Schedule:
    """
    Attributes:
        created_at (datetime.datetime):
        created_by (str): A user account's id (the `sub` of its tokens).
        expression (str): A 5-field cron pattern (`0 6 * * MON-FRI`) or a rate (`rate(15 minutes)`).
        id (str): A pipeline's schedule: when its runs start by themselves.
        input_ (ScheduleInput): What each scheduled run reads: a fixed set of content artifacts, or the files waiting in
            a
            folder of the pipeline's inbox. Exactly one of the two.
        next_run_at (datetime.datetime):
        pipeline_id (str): A team's pipeline: a named, versioned mapping.
        timezone (str): The IANA time zone the cron pattern's wall-clock times are in (`Europe/Berlin`).
        deleted_at (datetime.datetime | None | Unset):
        last_error (None | str | Unset):
        last_fired_at (datetime.datetime | None | Unset):
        last_job_id (None | str | Unset):
        last_run_count (int | None | Unset): How many runs its last firing started: one for a fixed artifact set, one
            per file waiting
            for an inbox folder (0 when none was).
        last_run_id (None | str | Unset):
    """

    created_at: datetime.datetime
    created_by: str
    expression: str
    id: str
    input_: ScheduleInput
    next_run_at: datetime.datetime
    pipeline_id: str
    timezone: str
    deleted_at: datetime.datetime | None | Unset = UNSET
    last_error: None | str | Unset = UNSET
    last_fired_at: datetime.datetime | None | Unset = UNSET
    last_job_id: None | str | Unset = UNSET
    last_run_count: int | None | Unset = UNSET
    last_run_id: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        created_at = self.created_at.isoformat()

        created_by = self.created_by

        expression = self.expression

        id = self.id

        input_ = self.input_.to_dict()

        next_run_at = self.next_run_at.isoformat()

        pipeline_id = self.pipeline_id

        timezone = self.timezone

        deleted_at: None | str | Unset
        if isinstance(self.deleted_at, Unset):
            deleted_at = UNSET
        elif isinstance(self.deleted_at, datetime.datetime):
            deleted_at = self.deleted_at.isoformat()
        else:
            deleted_at = self.deleted_at

        last_error: None | str | Unset
        if isinstance(self.last_error, Unset):
            last_error = UNSET
        else:
            last_error = self.last_error

        last_fired_at: None | str | Unset
        if isinstance(self.last_fired_at, Unset):
            last_fired_at = UNSET
        elif isinstance(self.last_fired_at, datetime.datetime):
            last_fired_at = self.last_fired_at.isoformat()
        else:
            last_fired_at = self.last_fired_at

        last_job_id: None | str | Unset
        if isinstance(self.last_job_id, Unset):
            last_job_id = UNSET
        else:
            last_job_id = self.last_job_id

        last_run_count: int | None | Unset
        if isinstance(self.last_run_count, Unset):
            last_run_count = UNSET
        else:
            last_run_count = self.last_run_count

        last_run_id: None | str | Unset
        if isinstance(self.last_run_id, Unset):
            last_run_id = UNSET
        else:
            last_run_id = self.last_run_id

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "created_at": created_at,
                "created_by": created_by,
                "expression": expression,
                "id": id,
                "input": input_,
                "next_run_at": next_run_at,
                "pipeline_id": pipeline_id,
                "timezone": timezone,
            }
        )
        if deleted_at is not UNSET:
            field_dict["deleted_at"] = deleted_at
        if last_error is not UNSET:
            field_dict["last_error"] = last_error
        if last_fired_at is not UNSET:
            field_dict["last_fired_at"] = last_fired_at
        if last_job_id is not UNSET:
            field_dict["last_job_id"] = last_job_id
        if last_run_count is not UNSET:
            field_dict["last_run_count"] = last_run_count
        if last_run_id is not UNSET:
            field_dict["last_run_id"] = last_run_id

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.schedule_input import ScheduleInput

        d = dict(src_dict)
        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        created_by = d.pop("created_by")

        expression = d.pop("expression")

        id = d.pop("id")

        input_ = ScheduleInput.from_dict(d.pop("input"))

        next_run_at = datetime.datetime.fromisoformat(d.pop("next_run_at"))

        pipeline_id = d.pop("pipeline_id")

        timezone = d.pop("timezone")

        def _parse_deleted_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                deleted_at_type_1 = datetime.datetime.fromisoformat(data)

                return deleted_at_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        deleted_at = _parse_deleted_at(d.pop("deleted_at", UNSET))

        def _parse_last_error(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        last_error = _parse_last_error(d.pop("last_error", UNSET))

        def _parse_last_fired_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                last_fired_at_type_1 = datetime.datetime.fromisoformat(data)

                return last_fired_at_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        last_fired_at = _parse_last_fired_at(d.pop("last_fired_at", UNSET))

        def _parse_last_job_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        last_job_id = _parse_last_job_id(d.pop("last_job_id", UNSET))

        def _parse_last_run_count(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        last_run_count = _parse_last_run_count(d.pop("last_run_count", UNSET))

        def _parse_last_run_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        last_run_id = _parse_last_run_id(d.pop("last_run_id", UNSET))

        schedule = cls(
            created_at=created_at,
            created_by=created_by,
            expression=expression,
            id=id,
            input_=input_,
            next_run_at=next_run_at,
            pipeline_id=pipeline_id,
            timezone=timezone,
            deleted_at=deleted_at,
            last_error=last_error,
            last_fired_at=last_fired_at,
            last_job_id=last_job_id,
            last_run_count=last_run_count,
            last_run_id=last_run_id,
        )

        schedule.additional_properties = d
        return schedule

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
