"""The threaded workers' wrapper: bodies are buffered before the app runs, the app
runs for one request at a time, and few threads buffer large bodies at once."""

import threading
import time

from app.gunicorn_conf import OneRequestAtATime


class _SlowInput:
    """A request body that arrives slowly, counting how many are read at once."""

    active = 0
    peak = 0
    lock = threading.Lock()

    def __init__(self, size: int) -> None:
        self.size = size

    def read(self, length: int) -> bytes:
        with _SlowInput.lock:
            _SlowInput.active += 1
            _SlowInput.peak = max(_SlowInput.peak, _SlowInput.active)
        time.sleep(0.05)
        with _SlowInput.lock:
            _SlowInput.active -= 1
        return b"x" * min(length, self.size)


def test_the_app_runs_one_request_at_a_time_after_its_body_is_in() -> None:
    running = []
    seen_bodies = []

    def app(environ, start_response):
        running.append(1)
        assert len(running) == 1  # never two at once
        seen_bodies.append(environ["wsgi.input"].read())
        time.sleep(0.01)
        running.pop()
        return [b"ok"]

    wrapper = OneRequestAtATime(app, max_body=16 * 1024 * 1024)
    size = 2 * 1024 * 1024  # large: at most two threads buffer such bodies
    _SlowInput.peak = 0

    def call() -> None:
        environ = {"CONTENT_LENGTH": str(size), "wsgi.input": _SlowInput(size)}
        assert wrapper(environ, lambda *args: None) == [b"ok"]

    threads = [threading.Thread(target=call) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(seen_bodies) == 6 and all(len(body) == size for body in seen_bodies)
    assert _SlowInput.peak == OneRequestAtATime.LARGE_BODIES


def test_small_bodies_are_buffered_in_parallel() -> None:
    wrapper = OneRequestAtATime(lambda environ, start: [b"ok"], max_body=1024)
    _SlowInput.peak = 0
    threads = [
        threading.Thread(
            target=wrapper,
            args=({"CONTENT_LENGTH": "10", "wsgi.input": _SlowInput(10)}, None),
        )
        for _ in range(5)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert _SlowInput.peak > OneRequestAtATime.LARGE_BODIES
