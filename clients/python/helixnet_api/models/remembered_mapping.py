from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.column_signature import ColumnSignature
    from ..models.remembered_mapping_value_map import RememberedMappingValueMap


T = TypeVar("T", bound="RememberedMapping")


@_attrs_define
class RememberedMapping:
    """One confirmed pair: a source column and the target field it fills.

    Attributes:
        column (str): The source column's name as the file spelled it.
        confirmed_at (datetime.datetime):
        confirmed_by (str): Who confirmed it: their e-mail address (the user id where there is none).
        id (str): The entry's id within the team ([`RememberedMapping::entry_id`]).
        job_id (str): A job's id.
        signature (ColumnSignature): What a column's sampled values looked like: enough to know the column again under
            another
            name or at another place in a later file of the same source.
        source_file (str): The file whose draft was confirmed.
        target (str): The target field's dotted path (`customer.id`).
        team_id (str): A team: it owns jobs and artifacts. Every user has a personal one.
        value_map (RememberedMappingValueMap | Unset): The confirmed translation of the column's values (source value →
            target value).
    """

    column: str
    confirmed_at: datetime.datetime
    confirmed_by: str
    id: str
    job_id: str
    signature: ColumnSignature
    source_file: str
    target: str
    team_id: str
    value_map: RememberedMappingValueMap | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        column = self.column

        confirmed_at = self.confirmed_at.isoformat()

        confirmed_by = self.confirmed_by

        id = self.id

        job_id = self.job_id

        signature = self.signature.to_dict()

        source_file = self.source_file

        target = self.target

        team_id = self.team_id

        value_map: dict[str, Any] | Unset = UNSET
        if not isinstance(self.value_map, Unset):
            value_map = self.value_map.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "column": column,
                "confirmed_at": confirmed_at,
                "confirmed_by": confirmed_by,
                "id": id,
                "job_id": job_id,
                "signature": signature,
                "source_file": source_file,
                "target": target,
                "team_id": team_id,
            }
        )
        if value_map is not UNSET:
            field_dict["value_map"] = value_map

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.column_signature import ColumnSignature
        from ..models.remembered_mapping_value_map import RememberedMappingValueMap

        d = dict(src_dict)
        column = d.pop("column")

        confirmed_at = datetime.datetime.fromisoformat(d.pop("confirmed_at"))

        confirmed_by = d.pop("confirmed_by")

        id = d.pop("id")

        job_id = d.pop("job_id")

        signature = ColumnSignature.from_dict(d.pop("signature"))

        source_file = d.pop("source_file")

        target = d.pop("target")

        team_id = d.pop("team_id")

        _value_map = d.pop("value_map", UNSET)
        value_map: RememberedMappingValueMap | Unset
        if isinstance(_value_map, Unset):
            value_map = UNSET
        else:
            value_map = RememberedMappingValueMap.from_dict(_value_map)

        remembered_mapping = cls(
            column=column,
            confirmed_at=confirmed_at,
            confirmed_by=confirmed_by,
            id=id,
            job_id=job_id,
            signature=signature,
            source_file=source_file,
            target=target,
            team_id=team_id,
            value_map=value_map,
        )

        remembered_mapping.additional_properties = d
        return remembered_mapping

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
