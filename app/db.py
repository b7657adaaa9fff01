"""Database engine and sessions, built from settings inside the app factory.

Every wait on the database is bounded by the store timeout (STORE_TIMEOUT_SECONDS),
so a database that accepts connections but never answers costs a request about
that long and a JSON 503, never a hung worker:

- PostgreSQL: a new connection is given up after the timeout (psycopg bounds the
  whole attempt, TCP connect, startup and authentication, by `connect_timeout`,
  but never below libpq's 2 s; a helper thread lets the caller stop waiting
  sooner). The server cancels statements after the timeout (`statement_timeout`),
  and the client stops waiting for an answer a little later and closes the
  connection, for a server that is stuck rather than slow. After a timeout the
  database counts as down for a moment: new connections fail at once instead of
  each request waiting on it again.
- SQLite: writers wait for the lock at most the timeout (busy timeout); the files
  are created owner-only (0600), and SQLite gives its WAL and shared-memory files
  the database file's permissions.
- Both: waiting for a pooled connection is bounded too, and SQL errors never carry
  bound values (`hide_parameters`), so no email or key reaches a log.
"""

import math
import os
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Insert, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

DEFAULT_STORE_TIMEOUT = 1.5
# The client waits this much longer than the server's statement timeout, so a slow
# statement ends with the server's cancel and the connection stays usable.
_ANSWER_MARGIN = 0.25
_LIBPQ_MIN_CONNECT_TIMEOUT = 2  # libpq (and psycopg) treat anything lower as 2 s
# After a timeout, new connections fail at once for this long (at least).
_DOWN_SECONDS = 2.0


def make_engine(url: str, store_timeout: float = DEFAULT_STORE_TIMEOUT) -> Engine:
    """Create the engine with every wait on the database bounded by
    `store_timeout` seconds (see the module docstring)."""
    parsed = make_url(url)
    kwargs: dict[str, Any] = {
        "pool_pre_ping": True,
        "pool_timeout": store_timeout,
        "hide_parameters": True,
    }
    sqlite = parsed.get_backend_name() == "sqlite"
    if sqlite:
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": store_timeout}
        if _is_plain_file(parsed.database, parsed.query):
            create_private_file(Path(parsed.database))
    elif parsed.get_backend_name() == "postgresql":
        kwargs["connect_args"] = {
            "connect_timeout": max(
                _LIBPQ_MIN_CONNECT_TIMEOUT, math.ceil(store_timeout)
            ),
            # Added to any options the URL gives (which these would replace).
            "options": " ".join(
                filter(
                    None,
                    (
                        str(parsed.query.get("options", "")),
                        f"-c statement_timeout={round(store_timeout * 1000)}",
                    ),
                )
            ),
        }
    engine = create_engine(url, **kwargs)
    if sqlite:
        event.listen(engine, "connect", _sqlite_pragmas)
    elif parsed.get_driver_name() == "psycopg":
        _bound_psycopg_waits(engine, store_timeout)
    return engine


def _is_plain_file(database: str | None, query: Mapping[str, Any]) -> bool:
    # Not in memory, and not a `file:` URI whose options SQLite reads itself.
    return bool(database) and database != ":memory:" and "uri" not in query


def create_private_file(path: Path) -> None:
    """Create `path` readable by its owner only, unless it exists (then tighten
    it): database files hold API key hashes, lead hashes and sealed secrets."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass
    for existing in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        try:
            if existing.stat().st_mode & 0o077:
                existing.chmod(0o600)
        except OSError:
            pass  # not there yet, not ours to change, or on a read-only disk


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class _DownFor:
    """Remembers that the database stopped answering, for a short while."""

    def __init__(self, seconds: float) -> None:
        self._seconds = seconds
        self._until = 0.0

    def mark(self) -> None:
        self._until = time.monotonic() + self._seconds

    def is_down(self) -> bool:
        return time.monotonic() < self._until


def _bound_psycopg_waits(engine: Engine, store_timeout: float) -> None:
    """Connect within the timeout and never wait longer for an answer."""
    import psycopg
    from psycopg import pq

    answer_timeout = store_timeout + _ANSWER_MARGIN
    down = _DownFor(max(_DOWN_SECONDS, store_timeout))

    class AnswerBoundConnection(psycopg.Connection):  # type: ignore[type-arg]
        """Every wait on the server (statements, commits, pings) is bounded."""

        def wait(self, gen: Any, *args: Any, **kwargs: Any) -> Any:
            # psycopg routes every exchange with the server through this method.
            if kwargs.get("timeout") is None and len(args) < 2:
                kwargs["timeout"] = answer_timeout
            try:
                return super().wait(gen, *args, **kwargs)
            except psycopg.OperationalError:
                if self.pgconn.transaction_status != pq.TransactionStatus.ACTIVE:
                    raise
                # No answer in time: the connection's state is unknown, so it is
                # closed (the pool then discards it).
                down.mark()
                self.close()
                raise psycopg.OperationalError(
                    f"the database did not answer within {answer_timeout:g} s"
                ) from None

    @event.listens_for(engine, "do_connect")
    def _connect(_dialect: Any, _record: Any, cargs: Any, cparams: Any) -> Any:
        if down.is_down():
            raise psycopg.OperationalError(
                "the database stopped answering moments ago; not retrying yet"
            )
        try:
            return _within(
                store_timeout,
                lambda: AnswerBoundConnection.connect(*cargs, **cparams),
                close_late=lambda connection: connection.close(),
            )
        except FutureTimeout:
            down.mark()
            raise psycopg.OperationalError(
                f"could not connect to the database within {store_timeout:g} s"
            ) from None


def _within(
    seconds: float, attempt: Callable[[], Any], close_late: Callable[[Any], None]
) -> Any:
    """Run `attempt` in a helper thread and wait at most `seconds` for it.

    Raises concurrent.futures.TimeoutError when it takes longer; what it returns
    after that is passed to `close_late`. The attempt must end on its own (a
    connection attempt does, after its connect_timeout).
    """
    outcome: Future[Any] = Future()

    def run() -> None:
        try:
            outcome.set_result(attempt())
        except BaseException as error:  # handed to the waiting thread
            outcome.set_exception(error)

    threading.Thread(target=run, name="db-connect", daemon=True).start()
    try:
        return outcome.result(seconds)
    except FutureTimeout:
        outcome.add_done_callback(
            lambda done: done.exception() is None and close_late(done.result())
        )
        raise


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit (no lazy reloads)."""
    return sessionmaker(engine, expire_on_commit=False)


_CONFLICT_INSERTS: dict[str, Callable[..., Insert]] = {
    "sqlite": sqlite.insert,
    "postgresql": postgresql.insert,
}


def conflict_insert(dialect_name: str) -> Callable[..., Insert]:
    """The dialect's INSERT, which has ON CONFLICT DO NOTHING / DO UPDATE: how
    concurrent writers of the same row both succeed."""
    try:
        return _CONFLICT_INSERTS[dialect_name]
    except KeyError:
        raise RuntimeError(f"unsupported database: {dialect_name}") from None
