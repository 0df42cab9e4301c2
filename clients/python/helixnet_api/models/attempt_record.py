from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.attempt_outcome import AttemptOutcome
from ..types import UNSET, Unset

T = TypeVar("T", bound="AttemptRecord")


@_attrs_define
class AttemptRecord:
    """One attempt at running a job: a worker's claim, up to its outcome.

    Attributes:
        number (int): The job's attempt count when this one started: 1 for the first.
        outcome (AttemptOutcome): How an attempt ended.
        retry (int): The run it belongs to: 0 for the job's first run, n for its nth retry.
        started_at (datetime.datetime):
        error (None | str | Unset): Why it did not complete (at most 1,000 characters).
        finished_at (datetime.datetime | None | Unset):
        records_in (int | None | Unset):
        records_out (int | None | Unset):
        records_rejected (int | None | Unset):
    """

    number: int
    outcome: AttemptOutcome
    retry: int
    started_at: datetime.datetime
    error: None | str | Unset = UNSET
    finished_at: datetime.datetime | None | Unset = UNSET
    records_in: int | None | Unset = UNSET
    records_out: int | None | Unset = UNSET
    records_rejected: int | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        number = self.number

        outcome = self.outcome.value

        retry = self.retry

        started_at = self.started_at.isoformat()

        error: None | str | Unset
        if isinstance(self.error, Unset):
            error = UNSET
        else:
            error = self.error

        finished_at: None | str | Unset
        if isinstance(self.finished_at, Unset):
            finished_at = UNSET
        elif isinstance(self.finished_at, datetime.datetime):
            finished_at = self.finished_at.isoformat()
        else:
            finished_at = self.finished_at

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

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "number": number,
                "outcome": outcome,
                "retry": retry,
                "started_at": started_at,
            }
        )
        if error is not UNSET:
            field_dict["error"] = error
        if finished_at is not UNSET:
            field_dict["finished_at"] = finished_at
        if records_in is not UNSET:
            field_dict["records_in"] = records_in
        if records_out is not UNSET:
            field_dict["records_out"] = records_out
        if records_rejected is not UNSET:
            field_dict["records_rejected"] = records_rejected

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        number = d.pop("number")

        outcome = AttemptOutcome(d.pop("outcome"))

        retry = d.pop("retry")

        started_at = datetime.datetime.fromisoformat(d.pop("started_at"))

        def _parse_error(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        error = _parse_error(d.pop("error", UNSET))

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

        attempt_record = cls(
            number=number,
            outcome=outcome,
            retry=retry,
            started_at=started_at,
            error=error,
            finished_at=finished_at,
            records_in=records_in,
            records_out=records_out,
            records_rejected=records_rejected,
        )

        attempt_record.additional_properties = d
        return attempt_record

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
