from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.run_status import RunStatus
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.step_run import StepRun


T = TypeVar("T", bound="ChainRun")


@_attrs_define
class ChainRun:
    """A run of a chained version: its steps and their jobs.

    Attributes:
        content (list[str]): The run's content files: the content of the steps that wait for none.
        created_at (datetime.datetime):
        created_by (str): A user account's id (the `sub` of its tokens).
        id (str): A run of a chained pipeline: one job per step.
        pipeline_id (str): A team's pipeline: a named, versioned mapping.
        pipeline_version (int):
        retries (int): How often the run was retried.
        revision (int): One more with every write; each write is conditional on the revision it read.
        status (RunStatus): Where a chained run stands.
        steps (list[StepRun]):
        team_id (str): A team: it owns jobs and artifacts. Every user has a personal one.
        updated_at (datetime.datetime):
        error (None | str | Unset): Names the failed step, once the run is `FAILED`.
    """

    content: list[str]
    created_at: datetime.datetime
    created_by: str
    id: str
    pipeline_id: str
    pipeline_version: int
    retries: int
    revision: int
    status: RunStatus
    steps: list[StepRun]
    team_id: str
    updated_at: datetime.datetime
    error: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        content = self.content

        created_at = self.created_at.isoformat()

        created_by = self.created_by

        id = self.id

        pipeline_id = self.pipeline_id

        pipeline_version = self.pipeline_version

        retries = self.retries

        revision = self.revision

        status = self.status.value

        steps = []
        for steps_item_data in self.steps:
            steps_item = steps_item_data.to_dict()
            steps.append(steps_item)

        team_id = self.team_id

        updated_at = self.updated_at.isoformat()

        error: None | str | Unset
        if isinstance(self.error, Unset):
            error = UNSET
        else:
            error = self.error

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "content": content,
                "created_at": created_at,
                "created_by": created_by,
                "id": id,
                "pipeline_id": pipeline_id,
                "pipeline_version": pipeline_version,
                "retries": retries,
                "revision": revision,
                "status": status,
                "steps": steps,
                "team_id": team_id,
                "updated_at": updated_at,
            }
        )
        if error is not UNSET:
            field_dict["error"] = error

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.step_run import StepRun

        d = dict(src_dict)
        content = cast(list[str], d.pop("content"))

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        created_by = d.pop("created_by")

        id = d.pop("id")

        pipeline_id = d.pop("pipeline_id")

        pipeline_version = d.pop("pipeline_version")

        retries = d.pop("retries")

        revision = d.pop("revision")

        status = RunStatus(d.pop("status"))

        steps = []
        _steps = d.pop("steps")
        for steps_item_data in _steps:
            steps_item = StepRun.from_dict(steps_item_data)

            steps.append(steps_item)

        team_id = d.pop("team_id")

        updated_at = datetime.datetime.fromisoformat(d.pop("updated_at"))

        def _parse_error(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        error = _parse_error(d.pop("error", UNSET))

        chain_run = cls(
            content=content,
            created_at=created_at,
            created_by=created_by,
            id=id,
            pipeline_id=pipeline_id,
            pipeline_version=pipeline_version,
            retries=retries,
            revision=revision,
            status=status,
            steps=steps,
            team_id=team_id,
            updated_at=updated_at,
            error=error,
        )

        chain_run.additional_properties = d
        return chain_run

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
