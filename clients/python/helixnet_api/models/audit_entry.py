from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.audit_outcome import AuditOutcome
from ..types import UNSET, Unset

T = TypeVar("T", bound="AuditEntry")


@_attrs_define
class AuditEntry:
    """One entry of a team's audit chain.

    Attributes:
        action (str): What was done, such as `job.create` or `artifact.download`.
        actor (str): A user account's id (the `sub` of its tokens).
        at (datetime.datetime):
        hash_ (str): SHA-256 (hex) of the entry's canonical encoding ([`AuditEntry::digest`]).
        id (str): An entry of the audit trail.
        outcome (AuditOutcome):
        prev_hash (str): The hash of the entry before it ([`GENESIS_HASH`] for the first).
        seq (int): 1, 2, 3, … without gaps in its chain.
        target (str): The id of what it was done to.
        team_id (str): A team: it owns jobs and artifacts. Every user has a personal one.
        source_ip (None | str | Unset):
        user_agent (None | str | Unset):
    """

    action: str
    actor: str
    at: datetime.datetime
    hash_: str
    id: str
    outcome: AuditOutcome
    prev_hash: str
    seq: int
    target: str
    team_id: str
    source_ip: None | str | Unset = UNSET
    user_agent: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        action = self.action

        actor = self.actor

        at = self.at.isoformat()

        hash_ = self.hash_

        id = self.id

        outcome = self.outcome.value

        prev_hash = self.prev_hash

        seq = self.seq

        target = self.target

        team_id = self.team_id

        source_ip: None | str | Unset
        if isinstance(self.source_ip, Unset):
            source_ip = UNSET
        else:
            source_ip = self.source_ip

        user_agent: None | str | Unset
        if isinstance(self.user_agent, Unset):
            user_agent = UNSET
        else:
            user_agent = self.user_agent

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "action": action,
                "actor": actor,
                "at": at,
                "hash": hash_,
                "id": id,
                "outcome": outcome,
                "prev_hash": prev_hash,
                "seq": seq,
                "target": target,
                "team_id": team_id,
            }
        )
        if source_ip is not UNSET:
            field_dict["source_ip"] = source_ip
        if user_agent is not UNSET:
            field_dict["user_agent"] = user_agent

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        action = d.pop("action")

        actor = d.pop("actor")

        at = datetime.datetime.fromisoformat(d.pop("at"))

        hash_ = d.pop("hash")

        id = d.pop("id")

        outcome = AuditOutcome(d.pop("outcome"))

        prev_hash = d.pop("prev_hash")

        seq = d.pop("seq")

        target = d.pop("target")

        team_id = d.pop("team_id")

        def _parse_source_ip(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        source_ip = _parse_source_ip(d.pop("source_ip", UNSET))

        def _parse_user_agent(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        user_agent = _parse_user_agent(d.pop("user_agent", UNSET))

        audit_entry = cls(
            action=action,
            actor=actor,
            at=at,
            hash_=hash_,
            id=id,
            outcome=outcome,
            prev_hash=prev_hash,
            seq=seq,
            target=target,
            team_id=team_id,
            source_ip=source_ip,
            user_agent=user_agent,
        )

        audit_entry.additional_properties = d
        return audit_entry

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
