from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.artifact_kind import ArtifactKind
from ..models.artifact_status import ArtifactStatus
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.multipart_upload import MultipartUpload


T = TypeVar("T", bound="ArtifactRead")


@_attrs_define
class ArtifactRead:
    """The artifact as its owner sees it.

    Attributes:
        content_type (str):
        created_at (datetime.datetime):
        filename (str):
        id (str): An artifact's id: an uploaded input or a file a job wrote.
        kind (ArtifactKind):
        size_bytes (int):
        status (ArtifactStatus):
        team_id (str): A team: it owns jobs and artifacts. Every user has a personal one.
        checksum_sha256 (None | str | Unset): The stored object's SHA-256 as S3 computed it (base64; `-<parts>` for a
            file uploaded in
            parts: S3's checksum of the parts' checksums).
        job_id (None | str | Unset):
        multipart (MultipartUpload | None | Unset):
        rejected_reason (None | str | Unset):
    """

    content_type: str
    created_at: datetime.datetime
    filename: str
    id: str
    kind: ArtifactKind
    size_bytes: int
    status: ArtifactStatus
    team_id: str
    checksum_sha256: None | str | Unset = UNSET
    job_id: None | str | Unset = UNSET
    multipart: MultipartUpload | None | Unset = UNSET
    rejected_reason: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.multipart_upload import MultipartUpload

        content_type = self.content_type

        created_at = self.created_at.isoformat()

        filename = self.filename

        id = self.id

        kind = self.kind.value

        size_bytes = self.size_bytes

        status = self.status.value

        team_id = self.team_id

        checksum_sha256: None | str | Unset
        if isinstance(self.checksum_sha256, Unset):
            checksum_sha256 = UNSET
        else:
            checksum_sha256 = self.checksum_sha256

        job_id: None | str | Unset
        if isinstance(self.job_id, Unset):
            job_id = UNSET
        else:
            job_id = self.job_id

        multipart: dict[str, Any] | None | Unset
        if isinstance(self.multipart, Unset):
            multipart = UNSET
        elif isinstance(self.multipart, MultipartUpload):
            multipart = self.multipart.to_dict()
        else:
            multipart = self.multipart

        rejected_reason: None | str | Unset
        if isinstance(self.rejected_reason, Unset):
            rejected_reason = UNSET
        else:
            rejected_reason = self.rejected_reason

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "content_type": content_type,
                "created_at": created_at,
                "filename": filename,
                "id": id,
                "kind": kind,
                "size_bytes": size_bytes,
                "status": status,
                "team_id": team_id,
            }
        )
        if checksum_sha256 is not UNSET:
            field_dict["checksum_sha256"] = checksum_sha256
        if job_id is not UNSET:
            field_dict["job_id"] = job_id
        if multipart is not UNSET:
            field_dict["multipart"] = multipart
        if rejected_reason is not UNSET:
            field_dict["rejected_reason"] = rejected_reason

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.multipart_upload import MultipartUpload

        d = dict(src_dict)
        content_type = d.pop("content_type")

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        filename = d.pop("filename")

        id = d.pop("id")

        kind = ArtifactKind(d.pop("kind"))

        size_bytes = d.pop("size_bytes")

        status = ArtifactStatus(d.pop("status"))

        team_id = d.pop("team_id")

        def _parse_checksum_sha256(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        checksum_sha256 = _parse_checksum_sha256(d.pop("checksum_sha256", UNSET))

        def _parse_job_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        job_id = _parse_job_id(d.pop("job_id", UNSET))

        def _parse_multipart(data: object) -> MultipartUpload | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                multipart_type_1 = MultipartUpload.from_dict(data)

                return multipart_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(MultipartUpload | None | Unset, data)

        multipart = _parse_multipart(d.pop("multipart", UNSET))

        def _parse_rejected_reason(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        rejected_reason = _parse_rejected_reason(d.pop("rejected_reason", UNSET))

        artifact_read = cls(
            content_type=content_type,
            created_at=created_at,
            filename=filename,
            id=id,
            kind=kind,
            size_bytes=size_bytes,
            status=status,
            team_id=team_id,
            checksum_sha256=checksum_sha256,
            job_id=job_id,
            multipart=multipart,
            rejected_reason=rejected_reason,
        )

        artifact_read.additional_properties = d
        return artifact_read

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
