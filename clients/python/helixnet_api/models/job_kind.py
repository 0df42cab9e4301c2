from enum import StrEnum


class JobKind(StrEnum):
    SUGGEST_MAPPING = "suggest-mapping"
    TRANSFORM = "transform"

    def __str__(self) -> str:
        return str(self.value)
