from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.input_reading_decided_by import InputReadingDecidedBy


T = TypeVar("T", bound="InputReading")


@_attrs_define
class InputReading:
    """How one content file was read, as the engine decided it, and what decided each setting
    (`declared` in the context, `BOM`, `detected`, an Excel `sep=` line, the `file name`).

        Attributes:
            decided_by (InputReadingDecidedBy):
            encoding (str):
            format_ (str): `csv`, `json`, `ndjson`, `fixed`, `idoc`, `idoc-xml` or `xml`.
            input_ (str): The content file's name.
            delimiter (None | str | Unset):
            header_row (int | None | Unset): The 1-based line of the header row, when the file has one.
            line_ending (None | str | Unset): `LF`, `CRLF` or `CR`, for formats read by line.
            skipped_lines (int | Unset): Lines passed over above the table (titles, a `sep=` line).
    """

    decided_by: InputReadingDecidedBy
    encoding: str
    format_: str
    input_: str
    delimiter: None | str | Unset = UNSET
    header_row: int | None | Unset = UNSET
    line_ending: None | str | Unset = UNSET
    skipped_lines: int | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        decided_by = self.decided_by.to_dict()

        encoding = self.encoding

        format_ = self.format_

        input_ = self.input_

        delimiter: None | str | Unset
        if isinstance(self.delimiter, Unset):
            delimiter = UNSET
        else:
            delimiter = self.delimiter

        header_row: int | None | Unset
        if isinstance(self.header_row, Unset):
            header_row = UNSET
        else:
            header_row = self.header_row

        line_ending: None | str | Unset
        if isinstance(self.line_ending, Unset):
            line_ending = UNSET
        else:
            line_ending = self.line_ending

        skipped_lines = self.skipped_lines

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "decided_by": decided_by,
                "encoding": encoding,
                "format": format_,
                "input": input_,
            }
        )
        if delimiter is not UNSET:
            field_dict["delimiter"] = delimiter
        if header_row is not UNSET:
            field_dict["header_row"] = header_row
        if line_ending is not UNSET:
            field_dict["line_ending"] = line_ending
        if skipped_lines is not UNSET:
            field_dict["skipped_lines"] = skipped_lines

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.input_reading_decided_by import InputReadingDecidedBy

        d = dict(src_dict)
        decided_by = InputReadingDecidedBy.from_dict(d.pop("decided_by"))

        encoding = d.pop("encoding")

        format_ = d.pop("format")

        input_ = d.pop("input")

        def _parse_delimiter(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        delimiter = _parse_delimiter(d.pop("delimiter", UNSET))

        def _parse_header_row(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        header_row = _parse_header_row(d.pop("header_row", UNSET))

        def _parse_line_ending(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        line_ending = _parse_line_ending(d.pop("line_ending", UNSET))

        skipped_lines = d.pop("skipped_lines", UNSET)

        input_reading = cls(
            decided_by=decided_by,
            encoding=encoding,
            format_=format_,
            input_=input_,
            delimiter=delimiter,
            header_row=header_row,
            line_ending=line_ending,
            skipped_lines=skipped_lines,
        )

        input_reading.additional_properties = d
        return input_reading

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
