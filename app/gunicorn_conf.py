"""gunicorn settings and lifecycle hooks, shared by every way the service is served:
the Procfile's web process, `conturs serve` and the benchmarks
(`gunicorn -c python:app.gunicorn_conf "app:create_app()"`).

Each worker builds its own app (no preloading, so no connection or thread crosses a
fork); the hooks start that app's background writers once it is loaded and stop
them, writing what is pending, when the worker exits.

Threads for deployments without a buffering proxy (WEB_THREADS=256). A sync
worker reads a request itself, so two clients sending a body one byte a second
stall two sync workers and with them the whole service. gthread's main thread
accepts connections and waits for their first byte without blocking anyone; from
then on a connection is served by one pool thread, which blocks while a slow client
trickles. So the number of slow clients a worker absorbs is its thread count (200
trickling connections leave GET /health at a few ms, benchmarks/slow_clients.py),
and OneRequestAtATime below keeps threads from scoring in parallel. Threads still
cost worker CPU per scoring request (20-40 % in 2026-12-02 measurements), so the
default is sync workers, for deployments behind a proxy that buffers requests
(README, "Deploying"). gevent would absorb even more connections, but it means
monkey-patching a process whose SQLite calls block the whole event loop.

A client that stops sending altogether would hold its thread forever (gunicorn
puts no deadline on reading a request), so each read on a client socket gives up
after IDLE_SECONDS without a byte. In front of the service a buffering proxy
(README, "Deploying") takes slow clients off the workers entirely.
"""

import io
import logging
import os
import threading
from collections.abc import Callable, Iterable
from typing import Any

from gunicorn.workers.gthread import ThreadWorker

from app.container import services_of

# A read on a client socket that sees no byte for this long ends the connection.
IDLE_SECONDS = float(os.environ.get("WEB_IDLE_SECONDS", "30"))


class IdleLimitedThreadWorker(ThreadWorker):  # type: ignore[misc]
    """gthread, with a limit on how long a client may send nothing."""

    def handle(self, conn: Any) -> Any:
        # In the pool thread, before the request is read; gthread makes the
        # socket blocking without any timeout, and again for every request.
        conn.sock.settimeout(IDLE_SECONDS)
        return super().handle(conn)


_STALLED_BODY = b'{"error": "Request body incomplete: the client stopped sending"}'


class OneRequestAtATime:
    """Runs the app for one request at a time per worker, once its body is in.

    Threads are here to wait on slow clients, not to score in parallel: scoring is
    CPU-bound, and several threads running it at once in one process fight over
    the GIL (measured: ~30 % more worker CPU per request at 100 leads). So each
    thread first buffers its request body — a trickling client holds only its own
    thread — and then takes the worker's one execution slot, like a sync worker.
    """

    # Bodies above this size are buffered by at most LARGE_BODIES threads at once,
    # so hundreds of threads cannot each hold a 16 MiB body in memory.
    LARGE_BODY = 1024 * 1024
    LARGE_BODIES = 2

    def __init__(self, app: Any, max_body: int) -> None:
        self.app = app
        self._max_body = max_body
        self._slot = threading.Lock()
        self._large = threading.BoundedSemaphore(self.LARGE_BODIES)

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        declared = environ.get("CONTENT_LENGTH")
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        if not (declared or chunked):
            with self._slot:
                return self.app(environ, start_response)
        try:
            length = int(declared) if declared else self._max_body + 1
        except ValueError:
            length = -1  # the app answers the bad header
        if not 0 <= length <= self._max_body + 1:
            with self._slot:
                return self.app(environ, start_response)
        large = length > self.LARGE_BODY
        if large:
            self._large.acquire()
        try:
            try:
                body = environ["wsgi.input"].read(length)
            except TimeoutError:
                start_response(
                    "400 Bad Request", [("Content-Type", "application/json")]
                )
                return [_STALLED_BODY]
            environ["wsgi.input"] = io.BytesIO(body)
            with self._slot:
                return self.app(environ, start_response)
        finally:
            if large:
                self._large.release()


bind = f"0.0.0.0:{os.environ.get('PORT', '8082')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# Threads are opt-in (WEB_THREADS=256 where no buffering proxy stands in front):
# measured 2026-12-02, threaded workers cost 20-40 % more worker CPU per scoring
# request than sync ones, even one request at a time, so the default stays sync.
threads = int(os.environ.get("WEB_THREADS", "1"))
worker_class = "app.gunicorn_conf.IdleLimitedThreadWorker" if threads > 1 else "sync"
# Connections a worker accepts: its threads plus idle keep-alive connections.
worker_connections = threads + 64
preload_app = False
# The arbiter restarts a worker that stops heartbeating this long; with threads
# the heartbeat comes from the main thread, so a slow request never triggers it.
timeout = 30
graceful_timeout = 20
accesslog = None
errorlog = "-"
loglevel = "info"


def post_worker_init(worker: Any) -> None:
    """The worker has loaded its app: start its background writers."""
    worker.log.error_log.addFilter(_quiet_idle_timeouts)
    app = worker.wsgi
    services_of(app).start_background()
    if getattr(worker.cfg, "threads", 1) > 1:
        worker.wsgi = OneRequestAtATime(app, app.config["MAX_BODY_BYTES"])


def _quiet_idle_timeouts(record: logging.LogRecord) -> bool:
    # gunicorn logs a traceback for every socket error; a client closed for
    # sending nothing within IDLE_SECONDS is routine, not an error.
    error = record.exc_info[1] if record.exc_info else None
    return not isinstance(error, TimeoutError)


def worker_exit(server: Any, worker: Any) -> None:
    """The worker is leaving: flush and stop its background writers."""
    app = getattr(worker, "wsgi", None)
    app = getattr(app, "app", app)  # under OneRequestAtATime
    if app is not None:
        services_of(app).stop_background()
