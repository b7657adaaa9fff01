"""A Werkzeug server in a background thread, bound to loopback.

Both emulations run this way in tests (port 0, so parallel workers never clash)
and in `conturs sandbox` (fixed or ephemeral ports).
"""

import threading
from collections.abc import Callable
from typing import Any, Self

from flask import Flask
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server


class _QuietHandler(WSGIRequestHandler):
    """No access log lines on stderr (tests and the demo stay readable)."""

    def log_request(self, *args: object, **kwargs: object) -> None:
        pass


class ServerThread:
    """Serve a Flask app on 127.0.0.1 until `stop()`."""

    def __init__(
        self, app: Flask, host: str = "127.0.0.1", port: int = 0, quiet: bool = True
    ) -> None:
        handler = _QuietHandler if quiet else None
        self._in_flight = _InFlight(app)
        self._server: BaseWSGIServer = make_server(
            host, port, self._in_flight, threaded=True, request_handler=handler
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"sandbox-{app.name}",
            daemon=True,
        )

    @property
    def port(self) -> int:
        """The port the socket is bound to (useful after binding port 0)."""
        return self._server.server_port

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:<port>`, without a trailing slash."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "ServerThread":
        """Start serving in the background."""
        self._thread.start()
        return self

    def stop(self, drain_seconds: float = 10.0) -> None:
        """Stop serving, let requests under way finish (at most `drain_seconds`:
        what they hold, e.g. a database connection, is given back before its
        owner goes away), and close the listening socket."""
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=5)
        self._in_flight.wait_idle(drain_seconds)
        self._server.server_close()


class _InFlight:
    """A WSGI app counting the requests it is serving."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self._app = app
        self._count = 0
        self._idle = threading.Condition()

    def __call__(self, environ: Any, start_response: Any) -> Any:
        with self._idle:
            self._count += 1
        try:
            # Bodies are fully built here (no streaming), so the request ends
            # when the call returns.
            return self._app(environ, start_response)
        finally:
            with self._idle:
                self._count -= 1
                self._idle.notify_all()

    def wait_idle(self, seconds: float) -> bool:
        """Wait until no request is being served; False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._count == 0, seconds)


class ServedEmulation:
    """Serving one emulated CRM: its Flask app on a ServerThread, a `stopping`
    event its hung calls watch, and its webhook sender closed on stop."""

    name = "emulation"
    flask_app: Flask
    stopping: threading.Event
    webhooks: Any  # has close()
    _server: ServerThread | None = None

    def start(self, port: int = 0) -> str:
        """Serve on 127.0.0.1:`port` (0 = any free port); return the base URL."""
        self._server = ServerThread(self.flask_app, port=port).start()
        self._started(self._server.base_url)
        return self._server.base_url

    def _started(self, base_url: str) -> None:
        """What the emulation needs to know of its own address."""

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:<port>` once started."""
        if self._server is None:
            raise RuntimeError(f"the {self.name} sandbox is not started")
        return self._server.base_url

    def stop(self) -> None:
        """Stop serving (hung calls end now) and stop webhook delivery."""
        self.stopping.set()
        if self._server is not None:
            self._server.stop()
            self._server = None
        self.webhooks.close()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
