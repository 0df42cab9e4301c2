from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.broken_link import BrokenLink


T = TypeVar("T", bound="AuditVerification")


@_attrs_define
class AuditVerification:
    """What verifying the team's chain found.

    Attributes:
        entries (int):
        team_id (str): A team: it owns jobs and artifacts. Every user has a personal one.
        broken (BrokenLink | None | Unset):
        head (None | str | Unset): The newest entry's hash: kept elsewhere, it shows later that nothing was cut off the
            end.
    """

    entries: int
    team_id: str
    broken: BrokenLink | None | Unset = UNSET
    head: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.broken_link import BrokenLink

        entries = self.entries

        team_id = self.team_id

        broken: dict[str, Any] | None | Unset
        if isinstance(self.broken, Unset):
            broken = UNSET
        elif isinstance(self.broken, BrokenLink):
            broken = self.broken.to_dict()
        else:
            broken = self.broken

        head: None | str | Unset
        if isinstance(self.head, Unset):
            head = UNSET
        else:
            head = self.head

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "entries": entries,
                "team_id": team_id,
            }
        )
        if broken is not UNSET:
            field_dict["broken"] = broken
        if head is not UNSET:
            field_dict["head"] = head

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.broken_link import BrokenLink

        d = dict(src_dict)
        entries = d.pop("entries")

        team_id = d.pop("team_id")

        def _parse_broken(data: object) -> BrokenLink | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                broken_type_1 = BrokenLink.from_dict(data)

                return broken_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(BrokenLink | None | Unset, data)

        broken = _parse_broken(d.pop("broken", UNSET))

        def _parse_head(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        head = _parse_head(d.pop("head", UNSET))

        audit_verification = cls(
            entries=entries,
            team_id=team_id,
            broken=broken,
            head=head,
        )

        audit_verification.additional_properties = d
        return audit_verification

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
