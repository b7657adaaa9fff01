"""A gunicorn worker that buffers each request before the app sees it, so slow
clients cost memory, never the worker.

A sync worker reads a request itself: two clients sending a body one byte a
second stall two sync workers and the service. Threads (gthread) cost scoring
requests 20-40 % more worker CPU (GIL hand-offs). This worker keeps the sync
worker's one thread and adds what a buffering proxy does: one non-blocking loop
accepts connections and reads them as bytes arrive; a request goes to the app
only when whole (app/http_framing.py) and runs to the end as in a sync worker;
the same loop writes its response back.

Bounds: at most `worker_connections` open connections (beyond that, new ones wait
in the listen backlog); a connection sending or reading nothing for
WEB_IDLE_SECONDS, or taking WEB_REQUEST_SECONDS for its whole request, is closed;
bytes held for all connections (requests being received, responses being sent)
stay within a budget of two full bodies plus 16 MiB — past it, reading the
larger requests pauses until bytes drain, while the first 64 KiB of every
connection are always read, so small requests never wait behind large ones.
Requests are parsed and answered with gunicorn's own parser and response, as the
sync worker does (one request per connection; app/whole_requests.py).
Plain HTTP only: TLS ends at the platform's proxy.
"""

import os
import selectors
import socket
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from gunicorn.workers import base

from app.http_framing import HeadersTooLarge, RequestFrame
from app.whole_requests import (
    CONTINUE,
    TIMED_OUT,
    TOO_LARGE_HEADERS,
    WholeRequests,
    send_now,
)

IDLE_SECONDS = float(os.environ.get("WEB_IDLE_SECONDS", "30"))
REQUEST_SECONDS = float(os.environ.get("WEB_REQUEST_SECONDS", "120"))
DEFAULT_MAX_BODY = 16 * 1024 * 1024
_READ_SIZE = 256 * 1024
_ACCEPTS = 8
# How long a refused upload's remaining bytes are read and dropped.
LINGER_SECONDS = 2.0
# Requests up to this size are read whatever the budget (1000 connections: 64 MiB).
_SMALL = 64 * 1024


@dataclass(eq=False, slots=True)
class _Connection:
    """One client: the bytes received, then the bytes to send back."""

    sock: socket.socket
    addr: Any
    listener: Any
    frame: RequestFrame
    inbox: bytearray = field(default_factory=bytearray)
    outbox: memoryview = field(default_factory=lambda: memoryview(b""))
    sent: int = 0
    opened: float = field(default_factory=time.monotonic)
    active: float = field(default_factory=time.monotonic)
    continued: bool = False
    lingering: bool = False
    watched: bool = False  # registered with the selector

    @property
    def held(self) -> int:
        return len(self.inbox) + len(self.outbox) - self.sent


class BufferingWorker(WholeRequests, base.Worker):  # type: ignore[misc]
    """gunicorn worker: non-blocking reads and writes, the app run one request
    at a time on whole requests."""

    def init_process(self) -> None:
        self.selector = selectors.DefaultSelector()
        self.connections: dict[int, _Connection] = {}
        self.paused: deque[_Connection] = deque()
        self.held = 0
        self.listening = False
        self.expired_at = self.notified_at = 0.0
        self.max_body = DEFAULT_MAX_BODY
        super().init_process()

    def load_wsgi(self) -> None:
        super().load_wsgi()
        config = getattr(self.wsgi, "config", {})
        self.max_body = int(config.get("MAX_BODY_BYTES", DEFAULT_MAX_BODY))
        self.budget = 2 * self.max_body + 16 * 1024 * 1024

    def run(self) -> None:
        if self.cfg.is_ssl:
            raise RuntimeError("BufferingWorker serves plain HTTP only")
        self._listen(True)
        while self.alive:
            self._turn()
            if self.ppid != os.getppid():
                self.log.info("Parent changed, shutting down: %s", self)
                break
        # Stopping: accept nothing more, finish sending what is answered.
        self._listen(False)
        deadline = time.monotonic() + self.cfg.graceful_timeout
        while any(c.outbox for c in self.connections.values()):
            if time.monotonic() > deadline:
                break
            self._turn()
        for conn in list(self.connections.values()):
            self._close(conn)
        self.selector.close()

    def _turn(self) -> None:
        """One pass of the loop: heartbeat, ready sockets, expired connections."""
        now = time.monotonic()
        if now - self.notified_at >= 1.0:  # a syscall: not on every request
            self.notified_at = now
            self.notify()
        for key, mask in self.selector.select(timeout=1.0):
            if key.data is None:
                self._accept(key.fileobj)
            elif mask & selectors.EVENT_READ:
                self._receive(key.data)
            else:
                self._send(key.data)
        if self.paused:
            self._resume()
        now = time.monotonic()
        if now - self.expired_at >= 0.5:
            self.expired_at = now
            self._expire(now)

    # -- accepting and receiving --------------------------------------------------

    def _accept(self, listener: Any) -> None:
        # Several per wake-up, as a sync worker does, while connections wait.
        for _ in range(_ACCEPTS):
            if len(self.connections) >= self.cfg.worker_connections:
                return  # at the limit: the listener is unwatched until one closes
            try:
                sock, addr = listener.accept()
            except (BlockingIOError, InterruptedError, ConnectionAbortedError):
                return
            self._open(sock, addr, listener)

    def _open(self, sock: socket.socket, addr: Any, listener: Any) -> None:
        sock.setblocking(False)
        conn = _Connection(sock, addr, listener, RequestFrame(self.max_body))
        self.connections[sock.fileno()] = conn
        if len(self.connections) >= self.cfg.worker_connections:
            self._listen(False)
        # The request often arrives with the connection: then it is answered
        # without the selector ever watching this socket.
        self._receive(conn)
        if not conn.watched and sock.fileno() in self.connections:
            self._watch(conn, selectors.EVENT_READ)

    def _receive(self, conn: _Connection) -> None:
        if conn.lingering:
            try:
                dropped = conn.sock.recv(_READ_SIZE)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                dropped = b""
            if not dropped:
                self._close(conn)
            return
        if len(conn.inbox) < _SMALL:
            # Small requests (health checks, most API calls) are never held
            # back by large ones filling the budget.
            room = _SMALL - len(conn.inbox)
        else:
            room = min(_READ_SIZE, self.budget - self.held)
        if room <= 0:
            self._pause(conn)
            return
        try:
            data = conn.sock.recv(room)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._close(conn)
            return
        if not data:
            self._close(conn)  # the client left before its request was whole
            return
        conn.inbox += data
        self.held += len(data)
        conn.active = time.monotonic()
        try:
            whole = conn.frame.feed(conn.inbox)
        except HeadersTooLarge:
            self._respond(conn, [TOO_LARGE_HEADERS])
            return
        if whole:
            inbox, conn.inbox = conn.inbox, bytearray()
            self.held -= len(inbox)
            parts = self.answer(conn.frame, inbox, conn.addr, conn.listener)
            self._respond(conn, parts)
        elif conn.frame.expects_continue and conn.frame.headers_done:
            if not conn.continued:
                conn.continued = True
                send_now(conn.sock, CONTINUE)

    # -- running the app ----------------------------------------------------------

    # -- sending ------------------------------------------------------------------

    def _respond(self, conn: _Connection, parts: list[bytes]) -> None:
        self.held -= len(conn.inbox)
        conn.inbox = bytearray()
        total = sum(map(len, parts))
        if not total:
            self._close(conn)
            return
        # Headers and body in one call, without joining them first: a large
        # answer is copied once, by the kernel, when it fits the socket buffer.
        sent = send_now(conn.sock, parts if len(parts) <= 64 else [b"".join(parts)])
        if sent is None:
            self._close(conn)
            return
        if sent == total:
            self._finish(conn)
            return
        data = b"".join(parts)
        conn.outbox = memoryview(data)
        conn.sent = sent
        self.held += len(data) - sent
        conn.active = time.monotonic()
        self._watch(conn, selectors.EVENT_WRITE)

    def _send(self, conn: _Connection) -> None:
        sent = send_now(conn.sock, conn.outbox[conn.sent :])
        if sent is None:
            self._close(conn)
            return
        conn.sent += sent
        self.held -= sent
        if sent:
            conn.active = time.monotonic()
        if conn.sent == len(conn.outbox):
            self._finish(conn)

    def _finish(self, conn: _Connection) -> None:
        """The answer is out. A client still sending a body we refused would get
        a reset instead of the answer if we closed now, so its bytes are read
        and dropped for a moment first (as web servers' lingering close does)."""
        if not conn.frame.cut_short:
            self._close(conn)
            return
        try:
            conn.sock.shutdown(socket.SHUT_WR)
        except OSError:
            self._close(conn)
            return
        conn.lingering = True
        conn.active = time.monotonic()
        self.held -= len(conn.outbox) - conn.sent
        conn.outbox, conn.sent = memoryview(b""), 0
        self._watch(conn, selectors.EVENT_READ)

    # -- bounds -------------------------------------------------------------------

    def _watch(self, conn: _Connection, events: int) -> None:
        if conn.watched:
            self.selector.modify(conn.sock, events, conn)
        else:
            self.selector.register(conn.sock, events, conn)
            conn.watched = True

    def _pause(self, conn: _Connection) -> None:
        if conn.watched:
            self.selector.unregister(conn.sock)
            conn.watched = False
        self.paused.append(conn)

    def _resume(self) -> None:
        while self.paused and self.held < self.budget:
            conn = self.paused.popleft()
            if conn.sock.fileno() in self.connections:
                self._watch(conn, selectors.EVENT_READ)

    def _expire(self, now: float) -> None:
        for conn in list(self.connections.values()):
            if (
                (conn.lingering and now - conn.active > LINGER_SECONDS)
                or (now - conn.active > IDLE_SECONDS)
                or (not conn.outbox and now - conn.opened > REQUEST_SECONDS)
            ):
                if conn.inbox and not conn.outbox:
                    send_now(conn.sock, TIMED_OUT)  # best effort, once
                self._close(conn)

    def _listen(self, on: bool) -> None:
        if on == self.listening:
            return
        self.listening = on
        for listener in self.sockets:
            if on:
                listener.setblocking(False)
                self.selector.register(listener, selectors.EVENT_READ)
            else:
                self.selector.unregister(listener)

    def _close(self, conn: _Connection) -> None:
        fileno = conn.sock.fileno()
        if self.connections.pop(fileno, None) is None:
            return
        self.held -= conn.held
        if conn.watched:
            self.selector.unregister(conn.sock)
        conn.sock.close()
        if self.alive and len(self.connections) < self.cfg.worker_connections:
            self._listen(True)
        self._resume()
