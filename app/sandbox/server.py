"""A Werkzeug server in a background thread, bound to loopback.

Both emulations run this way in tests (port 0, so parallel workers never clash)
and in `conturs sandbox` (fixed or ephemeral ports).
"""

import threading
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
        self._server: BaseWSGIServer = make_server(
            host, port, app, threaded=True, request_handler=handler
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

    def stop(self) -> None:
        """Stop serving and close the listening socket."""
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=5)
        self._server.server_close()


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
