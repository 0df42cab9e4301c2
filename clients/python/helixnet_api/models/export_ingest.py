from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.period_ingest import PeriodIngest


T = TypeVar("T", bound="ExportIngest")


@_attrs_define
class ExportIngest:
    """What ingesting one export did to each billing period it holds.

    Attributes:
        checksum (str): SHA-256 (hex) of the file.
        periods (list[PeriodIngest]):
    """

    checksum: str
    periods: list[PeriodIngest]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        checksum = self.checksum

        periods = []
        for periods_item_data in self.periods:
            periods_item = periods_item_data.to_dict()
            periods.append(periods_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "checksum": checksum,
                "periods": periods,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.period_ingest import PeriodIngest

        d = dict(src_dict)
        checksum = d.pop("checksum")

        periods = []
        _periods = d.pop("periods")
        for periods_item_data in _periods:
            periods_item = PeriodIngest.from_dict(periods_item_data)

            periods.append(periods_item)

        export_ingest = cls(
            checksum=checksum,
            periods=periods,
        )

        export_ingest.additional_properties = d
        return export_ingest

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
