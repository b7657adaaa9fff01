"""How use cases ask for background work: by task name, through a queue handed to
them when the services are built (the jobs package implements it), so no use case
imports a task and none waits for one."""

from typing import Any, Protocol


class TaskQueue(Protocol):
    """Queues a registered background task by name."""

    def enqueue(self, name: str, **kwargs: Any) -> bool:
        """Queue `name(**kwargs)`; False (and logged) when it could not be queued."""
        ...
