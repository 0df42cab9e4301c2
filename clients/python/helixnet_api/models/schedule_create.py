from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.schedule_input import ScheduleInput


T = TypeVar("T", bound="ScheduleCreate")


@_attrs_define
class ScheduleCreate:
    """
    Attributes:
        expression (str): A 5-field cron pattern (minute hour day-of-month month day-of-week, e.g. `0 6 * * MON-FRI`)
            or a rate (`rate(15 minutes)`, `rate(1 hour)`, `rate(2 days)`; at least a minute).
        input_ (ScheduleInput): What each scheduled run reads: a fixed set of content artifacts, or the files waiting in
            a
            folder of the pipeline's inbox. Exactly one of the two.
        timezone (None | str | Unset): The IANA time zone of the cron pattern's times; default `UTC`.
    """

    expression: str
    input_: ScheduleInput
    timezone: None | str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        expression = self.expression

        input_ = self.input_.to_dict()

        timezone: None | str | Unset
        if isinstance(self.timezone, Unset):
            timezone = UNSET
        else:
            timezone = self.timezone

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "expression": expression,
                "input": input_,
            }
        )
        if timezone is not UNSET:
            field_dict["timezone"] = timezone

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.schedule_input import ScheduleInput

        d = dict(src_dict)
        expression = d.pop("expression")

        input_ = ScheduleInput.from_dict(d.pop("input"))

        def _parse_timezone(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        timezone = _parse_timezone(d.pop("timezone", UNSET))

        schedule_create = cls(
            expression=expression,
            input_=input_,
            timezone=timezone,
        )

        return schedule_create
