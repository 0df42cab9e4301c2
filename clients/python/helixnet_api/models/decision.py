from enum import StrEnum


class Decision(StrEnum):
    ACCEPT = "accept"
    CHANGE = "change"
    REJECT = "reject"

    def __str__(self) -> str:
        return str(self.value)
