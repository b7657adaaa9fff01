"""GET /health latency while 200 slow clients trickle requests one byte a second.

Starts the service under the project's gunicorn config (app/gunicorn_conf.py, as
the Procfile and `conturs serve` run it) on a throw-away SQLite database, opens
200 connections that each send one byte a second — half of them trickle their
request headers, half send complete headers with `Content-Length: 1000` and
trickle the body (POST /leads, answered before Flask, and POST /config, read by
Flask) — and, while they trickle, times 50 GET /health requests on fresh
connections. Prints p50/p95/max; exits 1 when p95 is 100 ms or more, or when the
service closed the slow connections instead of holding them open (which would
hide the problem rather than survive it).

    python benchmarks/slow_clients.py [--clients 200] [--requests 50]
                                      [--worker-class sync]
"""

import argparse
import asyncio
import http.client
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from leads_throughput import start_service  # noqa: E402

P95_LIMIT_MS = 100.0
# Headers trickled byte by byte; they never reach the blank line that ends them.
_SLOW_HEADERS = b"POST /leads HTTP/1.1\r\nHost: slow\r\nX-Padding: " + b"a" * 4000
_BODY_TARGETS = (b"/leads", b"/config")


class Tricklers:
    """Slow connections, fed one byte a second each from an asyncio loop."""

    def __init__(self, port: int, count: int) -> None:
        self.port = port
        self.count = count
        self.opened = 0
        self.closed_by_server = 0
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self, settle: float) -> None:
        """Open every connection, then let each send its first bytes."""
        self._thread.start()
        self._ready.wait(60)
        time.sleep(settle)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        tasks = []
        for index in range(self.count):
            tasks.append(asyncio.create_task(self._trickle(index)))
            await asyncio.sleep(0.005)  # spread connects, as real clients would
        self._ready.set()
        await asyncio.gather(*tasks)

    async def _trickle(self, index: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        self.opened += 1
        if index % 2:
            path = _BODY_TARGETS[index // 2 % len(_BODY_TARGETS)]
            writer.write(
                b"POST " + path + b" HTTP/1.1\r\nHost: slow\r\n"
                b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
                b'{"lea'
            )
            trickle = b"a" * 995
        else:
            trickle = _SLOW_HEADERS
        position = 0
        try:
            while not self._stop.is_set() and position < len(trickle):
                writer.write(trickle[position : position + 1])
                await writer.drain()
                position += 1
                try:
                    await asyncio.wait_for(reader.read(1), timeout=1.0)
                except TimeoutError:
                    continue
                # An answer or EOF before the request is complete: the server
                # gave up on this client.
                self.closed_by_server += 1
                return
        except OSError:
            self.closed_by_server += 1
        finally:
            writer.close()


def health_latencies(port: int, count: int, timeout: float = 5.0) -> list[float]:
    """Milliseconds of `count` sequential GET /health on fresh connections; one
    that gets no answer within `timeout` seconds counts as taking that long."""
    latencies = []
    for _ in range(count):
        start = time.perf_counter()
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        try:
            connection.request("GET", "/health")
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                raise RuntimeError(f"/health answered {response.status}")
        except TimeoutError:
            pass  # counted as the whole timeout
        finally:
            connection.close()
        latencies.append((time.perf_counter() - start) * 1000)
        time.sleep(0.05)
    return latencies


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    # Default: the worker class of app/gunicorn_conf.py.
    parser.add_argument("--worker-class", default=None)
    parser.add_argument("--settle", type=float, default=3.0)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as workdir:
        server, port, _client = start_service(workdir, args.workers, args.worker_class)
        tricklers = Tricklers(port, args.clients)
        try:
            tricklers.start(args.settle)
            latencies = health_latencies(port, args.requests)
            still_open = tricklers.opened - tricklers.closed_by_server
        finally:
            tricklers.stop()
            server.terminate()
            server.wait(30)
    latencies.sort()
    p95 = latencies[max(0, round(0.95 * len(latencies)) - 1)]
    print(
        f"{args.clients} slow clients ({tricklers.opened} opened, {still_open} still "
        f"trickling during the measurement), worker class: "
        f"{args.worker_class or 'app/gunicorn_conf.py'}"
    )
    print(
        f"GET /health x{len(latencies)}: p50 {statistics.median(latencies):.1f} ms, "
        f"p95 {p95:.1f} ms, max {latencies[-1]:.1f} ms (limit p95 < {P95_LIMIT_MS:.0f})"
    )
    if still_open < args.clients:
        print("FAIL: the service dropped slow connections instead of holding them")
        return 1
    if p95 >= P95_LIMIT_MS:
        print("FAIL: slow clients hold the workers")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
