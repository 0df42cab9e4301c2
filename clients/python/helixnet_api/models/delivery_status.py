from enum import StrEnum


class DeliveryStatus(StrEnum):
    DELIVERED = "DELIVERED"
    GAVE_UP = "GAVE_UP"
    PENDING = "PENDING"

    def __str__(self) -> str:
        return str(self.value)
