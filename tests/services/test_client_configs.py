"""The per-process config cache: no waiting on the source when a copy exists,
background refresh, revocation, and fallbacks when the source is down."""

import threading

import pytest

from app.scoring import DEFAULT_WEIGHTS
from app.services.scoring.configs import (
    ClientConfigCache,
    ConfigUnavailableError,
    build_config,
)

WEIGHTS = tuple(DEFAULT_WEIGHTS.values())


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Source:
    """A controllable source: answers, refuses, fails or blocks."""

    def __init__(self) -> None:
        self.method = "default"
        self.valid = True
        self.down = False
        self.loads = 0
        self.release = threading.Event()
        self.release.set()
        self.loaded = threading.Event()
        self.copy = None

    def load(self, api_key, identity):
        self.loads += 1
        self.release.wait(5)
        self.loaded.set()
        if self.down:
            raise ConfigUnavailableError("down")
        if not self.valid:
            return None
        return build_config("cl_1", "a@b.co", WEIGHTS, self.method)

    def stored(self, api_key, identity):
        return self.copy

    def fallback(self, api_key, identity):
        return None


@pytest.fixture
def setup():
    clock, source = Clock(), Source()
    return ClientConfigCache(source, ttl_seconds=60, clock=clock), source, clock


def wait_for_refresh(cache: ClientConfigCache, source: Source) -> None:
    assert source.loaded.wait(5)
    for _ in range(500):  # the thread stores its result right after loading
        if not cache._refreshing:
            return
        threading.Event().wait(0.01)
    raise AssertionError("refresh did not finish")


def test_fresh_entries_cost_no_source_call(setup) -> None:
    cache, source, _ = setup
    assert cache.for_api_key("k", "a@b.co").method == "default"
    for _ in range(100):
        cache.for_api_key("k", "A@B.co")
    assert source.loads == 1


def test_expired_entry_serves_at_once_and_refreshes_in_background(setup) -> None:
    cache, source, clock = setup
    cache.for_api_key("k", "a@b.co")
    clock.now += 61
    source.method = "similar_clients"
    source.release.clear()  # the source hangs: the request must not wait on it
    source.loaded.clear()
    assert cache.for_api_key("k", "a@b.co").method == "default"
    source.release.set()
    wait_for_refresh(cache, source)
    assert cache.for_api_key("k", "a@b.co").method == "similar_clients"


def test_source_down_keeps_the_copy(setup) -> None:
    cache, source, clock = setup
    cache.for_api_key("k", "a@b.co")
    clock.now += 61
    source.down = True
    source.loaded.clear()
    assert cache.for_api_key("k", "a@b.co").method == "default"
    wait_for_refresh(cache, source)
    assert cache.for_api_key("k", "a@b.co").method == "default"
    assert source.loads == 2  # retried after a pause, not on every request


def test_revoked_key_is_dropped_after_refresh(setup) -> None:
    cache, source, clock = setup
    cache.for_api_key("k", "a@b.co")
    clock.now += 61
    source.valid = False
    source.loaded.clear()
    cache.for_api_key("k", "a@b.co")
    wait_for_refresh(cache, source)
    assert cache.for_api_key("k", "a@b.co") is None


def test_unknown_keys_are_remembered_briefly(setup) -> None:
    cache, source, clock = setup
    source.valid = False
    assert cache.for_api_key("bad", "a@b.co") is None
    assert cache.for_api_key("bad", "a@b.co") is None
    assert source.loads == 1
    clock.now += 6
    cache.for_api_key("bad", "a@b.co")
    assert source.loads == 2


def test_stored_copy_serves_a_cold_process_without_waiting(setup) -> None:
    cache, source, _ = setup
    source.copy = build_config("cl_1", "a@b.co", WEIGHTS, "industry_prior")
    source.release.clear()
    assert cache.for_api_key("k", "a@b.co").method == "industry_prior"
    source.release.set()


def test_nothing_to_serve_raises(setup) -> None:
    cache, source, _ = setup
    source.down = True
    with pytest.raises(ConfigUnavailableError):
        cache.for_api_key("k", "a@b.co")
