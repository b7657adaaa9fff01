"""The buffering worker (app/buffering_worker.py) under the project's gunicorn
config: a client that does not read its answer holds no one and still gets all of
it, even across a graceful stop; bodies that stall are held within the byte
budget while small requests go on; `Expect: 100-continue` gets its interim answer;
an endless header section gets 431."""

import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.processes import conturs, free_port, start_gunicorn

BODY_LIMIT = 1024 * 1024  # MAX_BODY_BYTES: the worker's budget is 2x this + 16 MiB
LEADS = 10_000
ANSWER_BYTES = 6 * 1024 * 1024  # at least, for LEADS leads


def _env(tmp_path: Path) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if k != "CONFIG_API_URL"},
        "DATABASE_URL": f"sqlite:///{tmp_path}/service.db",
        "SECRET_KEY": "buffering-worker-test-secret",
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "MAX_BODY_BYTES": str(BODY_LIMIT),
        "WEB_IDLE_SECONDS": "60",
        "RATE_LIMITS_ENABLED": "false",
    }


class Service:
    def __init__(self, process: subprocess.Popen[bytes], port: int, key: str):
        self.process, self.port, self.key = process, port, key

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def worker_rss(self) -> int:
        """Resident bytes of the one worker process."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        pid = children.read_text().split()[0]
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise AssertionError("no VmRSS")


def _start(tmp_path: Path) -> Service:
    env = _env(tmp_path)
    conturs(env, "db", "upgrade")
    created = json.loads(conturs(env, "clients", "create", "--email", "w@example.com"))
    port = free_port()
    return Service(start_gunicorn(env, port), port, created["api_key"])


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    running = _start(tmp_path)
    try:
        yield running
    finally:
        running.process.terminate()
        running.process.wait(15)


def _large_answer_request(service: Service) -> bytes:
    """POST /leads for 10,000 leads: an answer larger than the kernel's socket
    buffers (4 MiB for sending on Linux by default), so the worker holds the rest."""
    lead = {"email": "lead@example.com", "title": "CEO"}
    body = json.dumps(
        {"api_key": service.key, "email": "w@example.com", "leads": [lead] * LEADS}
    ).encode()
    return (
        b"POST /leads HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
    )


def _non_reader(service: Service) -> socket.socket:
    """A client with a tiny receive window that sends its request, then reads
    nothing for now."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", service.port))
    sock.sendall(_large_answer_request(service))
    return sock


def _read_all(sock: socket.socket) -> bytes:
    sock.settimeout(30)
    data = bytearray()
    while chunk := sock.recv(1 << 16):
        data += chunk
    return bytes(data)


def _health_seconds(service: Service) -> float:
    start = time.perf_counter()
    assert requests.get(f"{service.url}/health", timeout=15).status_code == 200
    return time.perf_counter() - start


def _whole_answer(data: bytes) -> dict:
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head[:200]
    length = next(
        int(line.split(b":")[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    assert len(body) == length
    assert length > ANSWER_BYTES, "the answer would fit in the kernel's buffers"
    return json.loads(body)


def test_a_client_that_does_not_read_its_answer_holds_no_one(service: Service):
    slow = _non_reader(service)
    try:
        time.sleep(1.0)  # the answer is ready and waiting on the client
        latencies = [_health_seconds(service) for _ in range(5)]
        # Under a worker that writes answers itself this waits until the slow
        # client reads (never, here); the bound leaves room for a loaded machine.
        assert max(latencies) < 3.0, latencies
        answer = _whole_answer(_read_all(slow))
    finally:
        slow.close()
    assert len(answer["scores"]) == LEADS


def test_a_graceful_stop_finishes_sending_answers(service: Service) -> None:
    slow = _non_reader(service)
    try:
        time.sleep(1.0)
        service.process.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        answer = _whole_answer(_read_all(slow))
    finally:
        slow.close()
    assert len(answer["scores"]) == LEADS


def _send_some(sock: socket.socket, data: memoryview) -> int:
    try:
        return sock.send(data)
    except BlockingIOError:
        return 0


def test_stalled_bodies_stay_within_the_budget(service: Service) -> None:
    """40 clients each send all but the last byte of a 1 MiB body: 40 MiB the
    worker would hold, where its budget is 18 MiB (plus 64 KiB a connection)."""
    before = service.worker_rss()
    body = b"x" * (BODY_LIMIT - 1)
    head = b"POST /config HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n" % (
        BODY_LIMIT
    )
    stalled = []
    try:
        for _ in range(40):
            sock = socket.create_connection(("127.0.0.1", service.port))
            sock.setblocking(False)
            stalled.append([sock, memoryview(head + body), 0])
        deadline = time.monotonic() + 6
        while time.monotonic() < deadline and any(
            sent < len(data) for _, data, sent in stalled
        ):
            for entry in stalled:
                sock, data, sent = entry
                entry[2] += _send_some(sock, data[sent:])
            time.sleep(0.01)
        time.sleep(0.5)
        grown = service.worker_rss() - before
        assert _health_seconds(service) < 3.0
        small = requests.post(
            f"{service.url}/config", json={"email": "small@example.com"}, timeout=15
        )
        assert small.status_code == 201, small.text
    finally:
        for sock, _, _ in stalled:
            sock.close()
    assert grown < 30 * 1024 * 1024, f"worker grew by {grown / 2**20:.0f} MiB"


def test_expect_continue_gets_an_interim_answer(service: Service) -> None:
    body = json.dumps({"email": "continue@example.com"}).encode()
    with socket.create_connection(("127.0.0.1", service.port), timeout=5) as sock:
        sock.sendall(
            b"POST /config HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            b"Expect: 100-continue\r\nContent-Length: %d\r\n\r\n" % len(body)
        )
        assert sock.recv(64) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(body)
        answer = _read_all(sock)
    assert answer.startswith(b"HTTP/1.1 201 "), answer[:200]
    assert answer.count(b"100 Continue") == 0


def test_an_endless_header_section_gets_431(service: Service) -> None:
    with socket.create_connection(("127.0.0.1", service.port), timeout=5) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nX-Pad: " + b"a" * (70 * 1024))
        answer = _read_all(sock)
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
    assert json.loads(answer.partition(b"\r\n\r\n")[2]) == {
        "error": "Request header section too large"
    }
