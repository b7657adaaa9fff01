"""Runs the app on one whole, buffered request and returns the response bytes,
the way gunicorn's sync worker runs it on a socket (app/buffering_worker.py).

gunicorn's own parser reads the request head, its environ and response classes
make the WSGI call, and its error handler answers what the parser refuses, so the
service answers exactly as under the sync worker; only the socket is replaced by
a sink, and a body of known length is handed to the app as the bytes it is.
"""

import errno
import io
import json
import socket
from datetime import datetime
from typing import Any

from gunicorn import http
from gunicorn.http import wsgi

from app.http_framing import RequestFrame


def canned(status: str, message: str) -> bytes:
    """A whole JSON error response, for what the worker answers itself."""
    body = json.dumps({"error": message}).encode()
    return (
        f"HTTP/1.1 {status}\r\nConnection: close\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body


CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
TIMED_OUT = canned(
    "408 Request Timeout", "Request incomplete: the client stopped sending"
)
TOO_LARGE_HEADERS = canned(
    "431 Request Header Fields Too Large", "Request header section too large"
)


class _ResponseSink:
    """Stands in for the client socket while the app runs: gunicorn's response
    writes here, and the worker's loop sends the bytes afterwards."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def sendall(self, data: bytes) -> None:
        self.parts.append(data if type(data) is bytes else bytes(data))

    def send(self, data: bytes) -> int:
        # gunicorn's only direct send is the interim `100 Continue`, which the
        # worker's loop already sent while the body was arriving.
        return len(data)


class WholeRequests:
    """Mixin for a gunicorn worker: `answer` runs the app on a buffered request."""

    # Provided by gunicorn's base Worker.
    cfg: Any
    log: Any
    wsgi: Any
    nr: int
    max_requests: int
    alive: bool

    def handle_error(self, req: Any, client: Any, addr: Any, exc: Exception) -> None:
        raise NotImplementedError

    def answer(
        self, frame: RequestFrame, inbox: bytearray, addr: Any, listener: Any
    ) -> list[bytes]:
        """The response to the request in `inbox` (empty: close silently)."""
        # The body goes to the app as the bytes it is (a chunked one decoded);
        # gunicorn parses the head, and the whole request where framing is bad.
        body = frame.body(inbox)
        head = bytes(inbox) if body is None else bytes(inbox[: frame.header_end])
        sink = _ResponseSink()
        req = None
        try:
            req = next(http.RequestParser(self.cfg, iter([head]), addr))
            self._call_app(req, sink, body, addr, listener)
        except (http.errors.NoMoreData, StopIteration):
            pass  # nothing to answer, as gunicorn's sync worker does
        except Exception as error:  # noqa: BLE001 - gunicorn maps it to a response
            self.handle_error(req, sink, addr, error)
        return sink.parts

    def _call_app(
        self,
        req: Any,
        sink: _ResponseSink,
        body: bytes | None,
        addr: Any,
        listener: Any,
    ) -> None:
        environ: dict[str, Any] = {}
        resp = None
        try:
            self.cfg.pre_request(self, req)
            started = datetime.now()
            resp, environ = wsgi.create(
                req, sink, addr, listener.getsockname(), self.cfg
            )
            resp.force_close()  # one request per connection, as in sync workers
            if body is not None:
                environ["wsgi.input"] = io.BytesIO(body)
            self.nr += 1
            if self.nr >= self.max_requests:
                self.log.info("Autorestarting worker after current request.")
                self.alive = False
            result = self.wsgi(environ, resp.start_response)
            try:
                for item in result:
                    resp.write(item)
                resp.close()
            finally:
                self.log.access(resp, req, environ, datetime.now() - started)
                if hasattr(result, "close"):
                    result.close()
        except Exception:
            if resp is not None and resp.headers_sent:
                # Part of the response is out: a cut connection says it failed.
                self.log.exception("Error handling request")
                sink.parts.clear()
                raise StopIteration() from None
            raise
        finally:
            try:
                self.cfg.post_request(self, req, environ, resp)
            except Exception:
                self.log.exception("Exception in post_request hook")


def send_now(sock: socket.socket, data: bytes | memoryview | list[bytes]) -> int | None:
    """Bytes the kernel took now; None when the client is gone."""
    try:
        return sock.sendmsg(data) if isinstance(data, list) else sock.send(data)
    except (BlockingIOError, InterruptedError):
        return 0
    except OSError as error:
        if error.errno not in (errno.EPIPE, errno.ECONNRESET, errno.ENOTCONN):
            raise
        return None
