"""The job queue: Huey on SQLite (embedded), Redis (at scale) or in memory (tests).

Services enqueue by task name through `JobQueue.enqueue`, never by importing tasks,
so the dependency rule holds and a missing worker never breaks a request.
"""

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from huey import Huey, MemoryHuey, RedisHuey, SqliteHuey

log = logging.getLogger(__name__)


def make_huey(settings: Mapping[str, Any], instance_path: str) -> Huey:
    """Choose the storage from settings; nothing else reads them."""
    if settings.get("JOBS_IMMEDIATE"):
        return MemoryHuey("conturs", immediate=True)
    if settings.get("REDIS_URL"):
        return RedisHuey("conturs", url=settings["REDIS_URL"], results=False)
    Path(instance_path).mkdir(parents=True, exist_ok=True)
    return SqliteHuey(
        "conturs", filename=str(Path(instance_path) / "jobs.db"), results=False
    )


class JobQueue:
    """Enqueue registered tasks by name."""

    def __init__(self, huey: Huey) -> None:
        self.huey = huey
        self.tasks: dict[str, Any] = {}

    def register(self, name: str, task: Any) -> None:
        """Make a Huey task available under a name."""
        self.tasks[name] = task

    def enqueue(self, name: str, **kwargs: Any) -> bool:
        """Queue a task; a failure to queue is logged, never raised into a request."""
        try:
            self.tasks[name](**kwargs)
        except Exception:  # the queue must not take the request down with it
            log.exception("could not enqueue %s(%s)", name, kwargs)
            return False
        return True
