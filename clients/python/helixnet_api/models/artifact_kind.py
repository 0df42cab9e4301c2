from enum import StrEnum


class ArtifactKind(StrEnum):
    CONTENT = "content"
    CONTEXT = "context"
    ERROR_REPORT = "error_report"
    RESULT = "result"
    SCHEMA = "schema"

    def __str__(self) -> str:
        return str(self.value)
