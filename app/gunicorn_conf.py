"""gunicorn settings and lifecycle hooks, shared by every way the service is served:
the Procfile's web process, `conturs serve` and the benchmarks
(`gunicorn -c python:app.gunicorn_conf "app:create_app()"`).

Each worker builds its own app (no preloading, so no connection or thread crosses a
fork); the hooks start that app's background writers once it is loaded and stop
them, writing what is pending, when the worker exits.

Workers are app.buffering_worker.BufferingWorker: like sync workers they run
one request at a time on one thread, but they receive requests and send responses
without blocking, so clients that trickle their bytes hold memory (bounded), not
the worker (benchmarks/slow_clients.py). A buffering proxy in front (README,
"Deploying") stays the first line against floods of connections.
"""

import os
from typing import Any

from app.container import services_of

bind = f"0.0.0.0:{os.environ.get('PORT', '8082')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "app.buffering_worker.BufferingWorker"
# Open connections per worker; more wait in the listen backlog.
worker_connections = 1000
# Responses go out through the worker's loop, not sendfile.
sendfile = False
preload_app = False
# The arbiter restarts a worker that stops heartbeating this long (a request
# that runs this long in the app).
timeout = 30
graceful_timeout = 20
accesslog = None
errorlog = "-"
loglevel = "info"


def post_worker_init(worker: Any) -> None:
    """The worker has loaded its app: start its background writers."""
    services_of(worker.wsgi).start_background()


def worker_exit(server: Any, worker: Any) -> None:
    """The worker is leaving: flush and stop its background writers."""
    app = getattr(worker, "wsgi", None)
    if app is not None:
        services_of(app).stop_background()
