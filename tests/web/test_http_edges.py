"""HTTP edges through the real server (gunicorn with app/gunicorn_conf.py), where
what the app returns is what goes on the wire: HEAD answers carry no body on any
route, a chunked body above the limit is refused with 413 (not cut to the limit
and parsed), and a client that stops sending loses its connection, told why."""

import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.processes import conturs, free_port, start_gunicorn

LIMIT = 64 * 1024  # MAX_BODY_BYTES of the server under test
TOO_LARGE = f"Request body too large: the limit is {LIMIT} bytes"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp_path: Path = tmp_path_factory.mktemp("edges")
    env = {
        **{k: v for k, v in os.environ.items() if k != "CONFIG_API_URL"},
        "DATABASE_URL": f"sqlite:///{tmp_path}/service.db",
        "SECRET_KEY": "http-edges-test-secret",
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "MAX_BODY_BYTES": str(LIMIT),
        "WEB_IDLE_SECONDS": "1",
        "RATE_LIMITS_ENABLED": "false",
    }
    conturs(env, "db", "upgrade")
    port = free_port()
    process = start_gunicorn(env, port)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(15)


def _connect(server: str) -> socket.socket:
    host, port = server.split(":")
    return socket.create_connection((host, int(port)), timeout=5)


def _read_head(sock: socket.socket) -> bytes:
    """The status line and headers of one response."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        assert chunk, f"closed before the headers ended: {data!r}"
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    assert rest == b"", f"bytes after the headers: {rest!r}"
    return head


@pytest.mark.parametrize(
    "path", ["/leads", "/health", "/config", "/feedback", "/openapi.json", "/nowhere"]
)
def test_head_answers_have_no_body(server: str, path: str) -> None:
    with _connect(server) as sock:
        sock.sendall(f"HEAD {path} HTTP/1.1\r\nHost: test\r\n\r\n".encode())
        head = _read_head(sock)
        assert head.startswith(b"HTTP/1.1 "), head
        assert b"connection: close" in head.lower()  # one request per connection
        # The answer ends where its headers end: the next thing is the close.
        assert sock.recv(4096) == b"", f"HEAD {path} sent a body"


def _chunks(size: int, piece: int = 8192) -> Iterator[bytes]:
    yield b'{"email": "big@example.com", "padding": "'
    sent = 0
    while sent < size:
        yield b"a" * piece
        sent += piece
    yield b'"}'


@pytest.mark.parametrize("path", ["/leads", "/config", "/feedback"])
def test_a_chunked_body_above_the_limit_is_refused_not_cut(
    server: str, path: str
) -> None:
    response = requests.post(
        f"http://{server}{path}",
        data=_chunks(LIMIT + 10_000),  # a generator: sent chunked, no length
        headers={"Content-Type": "application/json"},
        timeout=10,
    )
    assert response.status_code == 413, response.text
    assert response.json() == {"error": TOO_LARGE}


def test_a_chunked_body_within_the_limit_is_read_whole(server: str) -> None:
    response = requests.post(
        f"http://{server}/config",
        data=iter([b'{"email": "chunked@', b'example.com"}']),
        headers={"Content-Type": "application/json"},
        timeout=10,
    )
    assert response.status_code == 201, response.text
    assert response.json()["email"] == "chunked@example.com"


@pytest.mark.parametrize(
    "opening",
    [
        b"POST /leads HTTP/1.1\r\nHost: test\r\nX-Slow: ",  # stops in the headers
        b'POST /leads HTTP/1.1\r\nHost: test\r\nContent-Length: 1000\r\n\r\n{"le',
        b'POST /config HTTP/1.1\r\nHost: test\r\nContent-Length: 1000\r\n\r\n{"em',
    ],
)
def test_a_client_that_stops_sending_loses_its_connection(
    server: str, opening: bytes
) -> None:
    with _connect(server) as sock:
        sock.sendall(opening)
        start = time.monotonic()
        sock.settimeout(10)
        answer = b""
        while chunk := sock.recv(4096):  # the answer, then the close
            answer += chunk
        assert time.monotonic() - start < 5
        assert answer.startswith(b"HTTP/1.1 408 "), answer


def test_a_refused_upload_that_keeps_coming_still_gets_its_413(server: str) -> None:
    """The client keeps sending its oversized body after the answer: closing at
    once would reset the connection and lose the 413 (lingering close)."""
    with _connect(server) as sock:
        sock.sendall(
            b"POST /leads HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % (20 * LIMIT)
        )
        sock.settimeout(0.05)
        answer = b""
        for _ in range(19):  # all but the last piece: the server never sees it whole
            try:
                sock.sendall(b"a" * LIMIT)
            except (BlockingIOError, TimeoutError):
                pass
            try:
                answer += sock.recv(4096)
            except TimeoutError:
                pass
        sock.settimeout(5)
        while chunk := sock.recv(4096):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    assert TOO_LARGE.encode() in answer
