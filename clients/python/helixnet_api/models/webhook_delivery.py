from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.delivery_status import DeliveryStatus
from ..models.webhook_event import WebhookEvent
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.delivery_attempt import DeliveryAttempt


T = TypeVar("T", bound="WebhookDelivery")


@_attrs_define
class WebhookDelivery:
    """One event for one webhook: the exact body every attempt sends, and the attempts so far.

    Attributes:
        attempts (list[DeliveryAttempt]):
        body (str): The JSON sent, fixed when the run finished.
        created_at (datetime.datetime):
        event (WebhookEvent): What a delivery tells: a run of the pipeline finished, or its team's spending this month
            reached 80 % or 100 % of its budget (sent to every webhook of the team's pipelines).
        id (str): The same for every attempt (header `Helix-Delivery`): receivers drop repeats by it.
        pipeline_id (str): A team's pipeline: a named, versioned mapping.
        status (DeliveryStatus):
        webhook_id (str): A pipeline's webhook: a URL told of the pipeline's finished runs.
        job_id (None | str | Unset):
        next_attempt_at (datetime.datetime | None | Unset):
    """

    attempts: list[DeliveryAttempt]
    body: str
    created_at: datetime.datetime
    event: WebhookEvent
    id: str
    pipeline_id: str
    status: DeliveryStatus
    webhook_id: str
    job_id: None | str | Unset = UNSET
    next_attempt_at: datetime.datetime | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        attempts = []
        for attempts_item_data in self.attempts:
            attempts_item = attempts_item_data.to_dict()
            attempts.append(attempts_item)

        body = self.body

        created_at = self.created_at.isoformat()

        event = self.event.value

        id = self.id

        pipeline_id = self.pipeline_id

        status = self.status.value

        webhook_id = self.webhook_id

        job_id: None | str | Unset
        if isinstance(self.job_id, Unset):
            job_id = UNSET
        else:
            job_id = self.job_id

        next_attempt_at: None | str | Unset
        if isinstance(self.next_attempt_at, Unset):
            next_attempt_at = UNSET
        elif isinstance(self.next_attempt_at, datetime.datetime):
            next_attempt_at = self.next_attempt_at.isoformat()
        else:
            next_attempt_at = self.next_attempt_at

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "attempts": attempts,
                "body": body,
                "created_at": created_at,
                "event": event,
                "id": id,
                "pipeline_id": pipeline_id,
                "status": status,
                "webhook_id": webhook_id,
            }
        )
        if job_id is not UNSET:
            field_dict["job_id"] = job_id
        if next_attempt_at is not UNSET:
            field_dict["next_attempt_at"] = next_attempt_at

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.delivery_attempt import DeliveryAttempt

        d = dict(src_dict)
        attempts = []
        _attempts = d.pop("attempts")
        for attempts_item_data in _attempts:
            attempts_item = DeliveryAttempt.from_dict(attempts_item_data)

            attempts.append(attempts_item)

        body = d.pop("body")

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        event = WebhookEvent(d.pop("event"))

        id = d.pop("id")

        pipeline_id = d.pop("pipeline_id")

        status = DeliveryStatus(d.pop("status"))

        webhook_id = d.pop("webhook_id")

        def _parse_job_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        job_id = _parse_job_id(d.pop("job_id", UNSET))

        def _parse_next_attempt_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                next_attempt_at_type_1 = datetime.datetime.fromisoformat(data)

                return next_attempt_at_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        next_attempt_at = _parse_next_attempt_at(d.pop("next_attempt_at", UNSET))

        webhook_delivery = cls(
            attempts=attempts,
            body=body,
            created_at=created_at,
            event=event,
            id=id,
            pipeline_id=pipeline_id,
            status=status,
            webhook_id=webhook_id,
            job_id=job_id,
            next_attempt_at=next_attempt_at,
        )

        webhook_delivery.additional_properties = d
        return webhook_delivery

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
