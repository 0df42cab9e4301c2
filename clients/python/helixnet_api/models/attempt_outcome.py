from enum import StrEnum


class AttemptOutcome(StrEnum):
    ABANDONED = "ABANDONED"
    CANCELLED = "CANCELLED"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    RELEASED = "RELEASED"
    RUNNING = "RUNNING"

    def __str__(self) -> str:
        return str(self.value)
