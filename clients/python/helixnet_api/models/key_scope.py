from enum import StrEnum


class KeyScope(StrEnum):
    ARTIFACTSWRITE = "artifacts:write"
    JOBSREAD = "jobs:read"
    JOBSWRITE = "jobs:write"
    PIPELINESRUN = "pipelines:run"

    def __str__(self) -> str:
        return str(self.value)
