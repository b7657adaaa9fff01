"""What a process keeps between requests stays bounded whatever callers send:
rejected keys are remembered by fixed-size digests with the oldest evicted first,
the score recorder holds at most its byte budget of pending leads, and cached
response fragments are compact and bounded per factor."""

import random
import secrets
import tracemalloc

import pytest
from flask import Flask

from app.container import services_of
from app.scoring import DEFAULT_BANDS, DEFAULT_WEIGHTS, compute_score
from app.scoring.engine import read_lead
from app.services.keys import LeadKeys, hash_api_key
from app.services.scoring import configs as configs_module
from app.services.scoring import encoding
from app.services.scoring import recorder as recorder_module
from app.services.scoring.configs import build_config
from app.services.scoring.encoding import ScoreEncoder
from app.services.scoring.recorder import ScoreRecorder

WEIGHTS = tuple(DEFAULT_WEIGHTS.values())
CONFIG = build_config("cl_bounded", "owner@bounded.example", WEIGHTS, "default")
VALUES = (1.0, 1.0, 0.0, 1.0, 0.5, 0.3, 0.25, 0.5, 0.6, 0.2)
NOW = 1_780_000_000.0


def test_rejected_keys_are_digests_and_the_oldest_go_first(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(configs_module, "_UNKNOWN_KEY_LIMIT", 5)
    configs = services_of(app).configs
    identity = "x" * 300 + "@hostile.example"
    keys = ["ck_" + secrets.token_urlsafe(32) for _ in range(8)]
    for key in keys:
        assert configs.for_api_key(key, identity) is None
        assert len(configs._unknown) <= 5

    def remembered(key: str) -> bool:
        digest = configs_module._rejection_key(hash_api_key(key), identity)
        return digest in configs._unknown

    assert [remembered(key) for key in keys] == [False] * 3 + [True] * 5
    assert all(type(key) is bytes and len(key) == 32 for key in configs._unknown)


def recorder(app: Flask, **bounds: int) -> ScoreRecorder:
    services = services_of(app)
    return ScoreRecorder(services.sessions, LeadKeys("bounded-test"), **bounds)


def long_leads(name: str, count: int, chars: int = 1_000) -> list:
    return [
        (f"{name}-{index}@".ljust(chars, "x"), 50, VALUES) for index in range(count)
    ]


def pending_bytes(scores: ScoreRecorder) -> int:
    """The recorder's exact count of what is pending."""
    entry = recorder_module._ENTRY_BYTES
    return sum(entry + 4 * len(email) for _, email in scores._pending)


def test_the_recorder_keeps_the_newest_leads_within_its_byte_budget(app) -> None:
    budget = 2**20
    scores = recorder(app, max_pending=10**6, max_pending_bytes=budget)
    for number in range(40):  # ~180 KB estimated per batch: far beyond the budget
        scores.record(CONFIG, long_leads(f"batch{number}", 40), NOW + number)
        assert pending_bytes(scores) <= budget * 5 // 4
    assert scores.dropped > 0
    newest = {email for _, email in scores._pending}
    assert {email for email, _, _ in long_leads("batch39", 40)} <= newest
    assert not any(email.startswith("batch0-") for email in newest)
    assert scores.flush() == len(newest)


def test_leads_scored_again_never_count_twice(app) -> None:
    scores = recorder(app, max_pending=10**6, max_pending_bytes=2**20)
    same = long_leads("same", 100)  # ~440 KB estimated, within the budget
    for number in range(50):
        scores.record(CONFIG, same, NOW + number)
    assert scores.dropped == 0
    assert len(scores._pending) == 100


@pytest.mark.parametrize("char", ["x", "é", "€", "😀"])
def test_the_byte_estimate_is_an_upper_bound(app, char) -> None:
    """What the budget counts is at least what pending leads really use, for
    emails of 1, 2 or 4 bytes per character."""
    scores = recorder(app, max_pending=10**6, max_pending_bytes=2**30)
    rng = random.Random(8)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        scored = []
        for index in range(2_000):
            lead = {
                "email": f"{index}@".ljust(1_000, char),
                "email_open_count": rng.random() * 10,
                "create_date": f"2026-01-{index % 28 + 1:02d}",
                "job_title": "CEO",
            }
            email, values = read_lead(lead, NOW)
            scored.append((email, compute_score(values, WEIGHTS), values))
        scores.record(CONFIG, scored, NOW)
        del scored, lead
        used = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert len(scores._pending) == 2_000
    assert used <= scores._bytes <= 2_000 * (recorder_module._ENTRY_BYTES + 4_000)


def test_response_fragments_are_compact_and_bounded() -> None:
    encoder = ScoreEncoder(WEIGHTS, DEFAULT_BANDS)
    rng = random.Random(3)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(encoding._FRAGMENT_CACHE_LIMIT - 1):
            engagement = rng.random()  # fractional counts: a new value every lead
            encoder.lead("a@b.co", 50, (*VALUES[:6], engagement, *VALUES[7:]))
        used = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    # ~175 bytes per cached fragment; orjson's own buffers would be ~4 KB each.
    assert used < encoding._FRAGMENT_CACHE_LIMIT * 400
    for _ in range(3 * encoding._FRAGMENT_CACHE_LIMIT):
        encoder.lead("a@b.co", 50, (*VALUES[:6], rng.random(), *VALUES[7:]))
        assert len(encoder._fragments[6]) <= encoding._FRAGMENT_CACHE_LIMIT
