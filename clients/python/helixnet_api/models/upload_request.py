from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..models.artifact_kind import ArtifactKind
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.part_checksum_body import PartChecksumBody


T = TypeVar("T", bound="UploadRequest")


@_attrs_define
class UploadRequest:
    """
    Attributes:
        content_type (str):
        filename (str):
        kind (ArtifactKind):
        size_bytes (int):
        part_size (int | None | Unset): Files above 64 MiB go up in parts: the part size in bytes (5 MiB to 5 GiB;
            default
            16 MiB, more when the file needs it to fit in 10,000 parts).
        parts (list[PartChecksumBody] | Unset): The first parts' SHA-256 checksums, for their URLs in the answer.
        team_id (None | str | Unset):
    """

    content_type: str
    filename: str
    kind: ArtifactKind
    size_bytes: int
    part_size: int | None | Unset = UNSET
    parts: list[PartChecksumBody] | Unset = UNSET
    team_id: None | str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        content_type = self.content_type

        filename = self.filename

        kind = self.kind.value

        size_bytes = self.size_bytes

        part_size: int | None | Unset
        if isinstance(self.part_size, Unset):
            part_size = UNSET
        else:
            part_size = self.part_size

        parts: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.parts, Unset):
            parts = []
            for parts_item_data in self.parts:
                parts_item = parts_item_data.to_dict()
                parts.append(parts_item)

        team_id: None | str | Unset
        if isinstance(self.team_id, Unset):
            team_id = UNSET
        else:
            team_id = self.team_id

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "content_type": content_type,
                "filename": filename,
                "kind": kind,
                "size_bytes": size_bytes,
            }
        )
        if part_size is not UNSET:
            field_dict["part_size"] = part_size
        if parts is not UNSET:
            field_dict["parts"] = parts
        if team_id is not UNSET:
            field_dict["team_id"] = team_id

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.part_checksum_body import PartChecksumBody

        d = dict(src_dict)
        content_type = d.pop("content_type")

        filename = d.pop("filename")

        kind = ArtifactKind(d.pop("kind"))

        size_bytes = d.pop("size_bytes")

        def _parse_part_size(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        part_size = _parse_part_size(d.pop("part_size", UNSET))

        _parts = d.pop("parts", UNSET)
        parts: list[PartChecksumBody] | Unset = UNSET
        if _parts is not UNSET:
            parts = []
            for parts_item_data in _parts:
                parts_item = PartChecksumBody.from_dict(parts_item_data)

                parts.append(parts_item)

        def _parse_team_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        team_id = _parse_team_id(d.pop("team_id", UNSET))

        upload_request = cls(
            content_type=content_type,
            filename=filename,
            kind=kind,
            size_bytes=size_bytes,
            part_size=part_size,
            parts=parts,
            team_id=team_id,
        )

        return upload_request
