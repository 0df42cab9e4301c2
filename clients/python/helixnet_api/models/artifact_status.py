from enum import StrEnum


class ArtifactStatus(StrEnum):
    AVAILABLE = "AVAILABLE"
    PENDING_UPLOAD = "PENDING_UPLOAD"
    REJECTED = "REJECTED"

    def __str__(self) -> str:
        return str(self.value)
