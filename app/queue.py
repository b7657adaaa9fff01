"""The job queue: Huey on SQLite (embedded), Redis (at scale) or in memory (tests).

Services enqueue by task name through `JobQueue.enqueue`, never by importing tasks,
so the dependency rule holds and a missing worker never breaks a request.
"""

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from huey import Huey, MemoryHuey, RedisHuey, SqliteHuey
from redis import ConnectionPool

from app.db import DEFAULT_STORE_TIMEOUT, create_private_file

log = logging.getLogger(__name__)

# Redis answers within milliseconds or not at all; a request that enqueues a job
# spends at most this long finding out it is not answering.
REDIS_TIMEOUT_SECONDS = 0.5


def make_huey(settings: Mapping[str, Any], instance_path: str) -> Huey:
    """Choose the storage from settings; nothing else reads them.

    Calls to the storage are bounded, so a hung Redis or a locked jobs.db makes an
    enqueue fail (logged; the periodic refit of every client catches up) instead
    of holding the request: jobs.db waits at most STORE_TIMEOUT_SECONDS for its
    lock, Redis at most REDIS_TIMEOUT_SECONDS (or less) for an answer.
    """
    timeout = settings.get("STORE_TIMEOUT_SECONDS", DEFAULT_STORE_TIMEOUT)
    if settings.get("JOBS_IMMEDIATE"):
        return MemoryHuey("conturs", immediate=True)
    if settings.get("REDIS_URL"):
        redis_timeout = min(timeout, REDIS_TIMEOUT_SECONDS)
        # No retries on a timeout (redis-py's pool default), so an enqueue gives up
        # after one `redis_timeout`.
        pool = ConnectionPool.from_url(
            settings["REDIS_URL"],
            socket_timeout=redis_timeout,
            socket_connect_timeout=redis_timeout,
        )
        return RedisHuey(
            "conturs",
            connection_pool=pool,
            results=False,
            # The consumer's blocking pop must return before the socket times out.
            read_timeout=redis_timeout / 2,
        )
    Path(instance_path).mkdir(mode=0o700, parents=True, exist_ok=True)
    jobs_db = Path(instance_path) / "jobs.db"
    create_private_file(jobs_db)  # owner-only, like the database
    return SqliteHuey("conturs", filename=str(jobs_db), results=False, timeout=timeout)


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
        except Exception as error:  # the queue must not take the request down
            # The arguments stay out of the log: they may name a person.
            log.error("could not enqueue %s: %s: %s", name, type(error).__name__, error)
            return False
        return True
