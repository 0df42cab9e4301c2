from enum import StrEnum


class AuditOutcome(StrEnum):
    FAILED = "failed"
    REFUSED = "refused"
    SUCCESS = "success"

    def __str__(self) -> str:
        return str(self.value)
