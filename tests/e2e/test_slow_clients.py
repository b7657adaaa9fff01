"""Slow clients cannot hold the service: under the project's gunicorn config, with
a hundred connections trickling their headers or bodies a byte a second, GET
/health still answers in milliseconds. (benchmarks/slow_clients.py measures the
same with 200 connections.) Under gunicorn's sync workers this fails: two such
clients stall both workers."""

import http.client
import os
import socket
import threading
import time
from pathlib import Path

from tests.processes import free_port, start_gunicorn

SLOW_CLIENTS = 120
OPENINGS = (
    b"POST /leads HTTP/1.1\r\nHost: slow\r\nX-Padding: ",
    b'POST /leads HTTP/1.1\r\nHost: slow\r\nContent-Length: 1000\r\n\r\n{"lea',
    b'POST /config HTTP/1.1\r\nHost: slow\r\nContent-Length: 1000\r\n\r\n{"ema',
)


def _trickle(
    port: int, stop: threading.Event, opened: list[socket.socket], dropped: list[int]
) -> None:
    for index in range(SLOW_CLIENTS):
        sock = socket.create_connection(("127.0.0.1", port))
        sock.sendall(OPENINGS[index % len(OPENINGS)])
        opened.append(sock)
    while not stop.wait(1.0):
        for index, sock in enumerate(opened):
            try:
                sock.send(b"a")
            except OSError:
                dropped.append(index)


def _health_ms(port: int) -> float:
    start = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", "/health")
        response = connection.getresponse()
        response.read()
        assert response.status == 200
    except TimeoutError:
        pass  # counted as the full timeout
    finally:
        connection.close()
    return (time.perf_counter() - start) * 1000


def test_health_stays_fast_while_clients_trickle(tmp_path: Path) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if k != "CONFIG_API_URL"},
        "DATABASE_URL": f"sqlite:///{tmp_path}/service.db",
        "SECRET_KEY": "slow-clients-test-secret",
        "INSTANCE_PATH": str(tmp_path / "instance"),
    }
    port = free_port()  # /health needs no schema: the database stays empty
    process = start_gunicorn(env, port)
    stop = threading.Event()
    opened: list[socket.socket] = []
    dropped: list[int] = []
    trickler = threading.Thread(target=_trickle, args=(port, stop, opened, dropped))
    try:
        trickler.start()
        while len(opened) < SLOW_CLIENTS and trickler.is_alive():
            time.sleep(0.05)
        time.sleep(1.5)  # every slow client has reached a worker
        latencies = sorted(_health_ms(port) for _ in range(20))
    finally:
        stop.set()
        trickler.join(10)
        for sock in opened:
            sock.close()
        process.terminate()
        process.wait(15)
    assert latencies[18] < 100, f"p95 {latencies[18]:.0f} ms: {latencies}"
    assert not dropped, "slow clients were dropped rather than held"
