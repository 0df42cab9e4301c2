from enum import StrEnum


class WebhookEvent(StrEnum):
    BUDGET_THRESHOLD = "budget.threshold"
    RUN_CANCELLED = "run.cancelled"
    RUN_COMPLETED = "run.completed"
    RUN_FAILED = "run.failed"

    def __str__(self) -> str:
        return str(self.value)
