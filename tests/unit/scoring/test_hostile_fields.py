"""Lead fields a caller can make as large or as strange as it likes: dates in
Unicode digits, dates of any length, text of any length. None of them fails a lead,
and none of them grows what the engine keeps between requests."""

import random
import string
import time

import pytest

from app.scoring import dates
from app.scoring.engine import read_lead
from app.scoring.factors import INACTIVE_VALUE
from app.scoring.fields import MAX_TEXT_CHARS, text

NOW = time.time()
RECENCY = 4  # index of days_since_created in the factor values
ACTIVITY = 9  # recency_score: notes updated lately count


@pytest.fixture
def date_cache(monkeypatch: pytest.MonkeyPatch) -> dict:
    """An empty date cache for this test, whatever ran before."""
    cache: dict = {}
    monkeypatch.setattr(dates, "_cache", cache)
    return cache


@pytest.mark.parametrize(
    "value",
    [
        "¹²³⁴⁵⁶⁷⁸",  # superscript digits: str.isdigit is true, int() refuses them
        "①②③④⑤⑥⑦⑧",  # circled digits, the same
        "１７３５６８９６００００",  # fullwidth epoch milliseconds
        "２０２４-０１-０１",
    ],
)
def test_unicode_digit_dates_are_absent_and_not_cached(date_cache, value) -> None:
    _, values = read_lead({"create_date": value, "notes_last_updated": value}, NOW)
    assert values[RECENCY] == 0.0
    assert values[ACTIVITY] == INACTIVE_VALUE
    assert dates.parse_timestamp(value) is None
    assert date_cache == {}


def test_oversized_date_strings_are_absent_and_not_cached(date_cache) -> None:
    recent = "2026-01-01"
    assert dates.parse_timestamp(recent) is not None
    padded = recent + " " * (dates.MAX_DATE_CHARS + 1 - len(recent))
    for value in (padded, "1" * (dates.MAX_DATE_CHARS + 1), "x" * 2**20):
        assert dates.parse_timestamp(value) is None
        _, values = read_lead({"create_date": value}, NOW)
        assert values[RECENCY] == 0.0
    assert list(date_cache) == [recent]


def test_a_date_at_the_length_bound_still_parses(date_cache) -> None:
    value = "2026-01-01".ljust(dates.MAX_DATE_CHARS)
    assert dates.parse_timestamp(value) == dates.parse_timestamp("2026-01-01")


def test_the_date_cache_never_exceeds_its_bounds(date_cache, monkeypatch) -> None:
    monkeypatch.setattr(dates, "_CACHE_LIMIT", 500)
    rng = random.Random(5)
    for index in range(3_000):
        length = rng.choice([10, 24, dates.MAX_DATE_CHARS, 65, 1_000])
        value = f"2026-01-{index % 28 + 1:02d}T{index}".ljust(length, "0")
        dates.parse_timestamp(value)
        assert len(date_cache) <= 500
    assert date_cache  # it still caches
    assert max(map(len, date_cache)) <= dates.MAX_DATE_CHARS
    assert all(key.isascii() for key in date_cache)


def test_any_short_ascii_string_parses_or_is_absent(date_cache) -> None:
    """Whatever the caller sends within the bound: a number or None, never an
    exception (the lead would fail with a 500)."""
    rng = random.Random(11)
    alphabet = string.digits * 4 + "-+:.TZz/ " + string.ascii_letters + "\t_"
    samples = ["9" * 64, "-1", "0" * 6, "2026-02-30", "9999-12-31T23:59:59-23:59"]
    samples += [
        "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 64)))
        for _ in range(5_000)
    ]
    for value in samples:
        parsed = dates.parse_timestamp(value)
        assert parsed is None or isinstance(parsed, float)


LONG = 5_000


def test_lead_text_reads_as_its_first_thousand_characters() -> None:
    # Past the first 1,000 characters these would make a valid email, a CEO and a
    # targeted industry; read up to the bound they are none of those.
    lead = {
        "email": "x" * MAX_TEXT_CHARS + "@example.com",
        "first_name": "A" * LONG,
        "last_name": " " * MAX_TEXT_CHARS + "Lee",
        "company": "Acme " * (LONG // 5),
        "job_title": " " * MAX_TEXT_CHARS + "CEO",
        "phone": "5" * LONG,
        "city": "c" * LONG,
        "country": "US" * (LONG // 2),
        "industry": "i" * LONG,
        "lead_status": " " * MAX_TEXT_CHARS + "qualified",
    }
    cut = {key: value[:MAX_TEXT_CHARS] for key, value in lead.items()}
    email, values = read_lead(lead, NOW)
    assert (email, values) == read_lead(cut, NOW)
    assert len(email) == MAX_TEXT_CHARS
    assert values[1] == 0.0  # no "@" within the bound: not a valid email
    assert values[5] == 0.0  # lead_status blank within the bound
    assert values[8] == 0.0  # job_title blank within the bound: no seniority


def test_text_at_the_bound_is_kept_whole() -> None:
    value = "a" * MAX_TEXT_CHARS
    assert text(value, "company") == value
    assert text(" " + value, "company") == value[:-1]
