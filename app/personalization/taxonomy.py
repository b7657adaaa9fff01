"""One industry taxonomy: ~20 verticals built from HubSpot's `industry` values.

Clients state their industry, leads carry one, and CRMs send either HubSpot's
enumeration (`COMPUTER_SOFTWARE`), its label ("Computer Software") or free text
("B2B SaaS platform"). Everything that compares industries — the ICP factor, the
industry priors, client similarity — needs them on one scale, so all of it goes
through `vertical_of`. Text we cannot place maps to None: a wrong vertical would
silently give a client someone else's weights, a missing one only falls back to the
defaults.
"""

import json
import re
from functools import lru_cache
from importlib import resources
from types import MappingProxyType

_STOPWORDS = frozenset({"and", "or", "of", "the", "for", "a", "an", "in"})
# Two-letter words ("it", "hr", "pr", "tv") are too common inside sentences to
# match as free text; they count only when they are the whole answer.
_MIN_FREE_TEXT_CHARS = 3
_NON_WORD = re.compile(r"[^0-9a-z]+")


def _stem(token: str) -> str:
    # Plural "s" only, and only where it is safe ("news", "class", "status" stay).
    if (
        len(token) > 4
        and token.endswith("s")
        and not token.endswith(("ss", "us", "is"))
    ):
        return token[:-1]
    return token


def normalise(text: str) -> tuple[str, ...]:
    """Words of an industry text, lower-cased, singular, without filler words."""
    words = _NON_WORD.split(text.casefold().replace("_", " "))
    return tuple(_stem(w) for w in words if w and w not in _STOPWORDS)


def _load() -> tuple[dict[str, dict], dict[tuple[str, ...], str]]:
    raw = json.loads(
        resources.files("app.personalization")
        .joinpath("data/verticals.json")
        .read_text(encoding="utf-8")
    )["verticals"]
    phrases: dict[tuple[str, ...], str] = {}
    for key, entry in raw.items():
        names = [key, entry["label"], *entry["hubspot"], *entry["synonyms"]]
        for name in names:
            phrase = normalise(name)
            owner = phrases.setdefault(phrase, key)
            if owner != key:
                raise ValueError(f"{name!r} is listed under {owner} and {key}")
    return raw, phrases


_RAW, _PHRASES = _load()
_LONGEST = max(len(p) for p in _PHRASES)

VERTICALS: MappingProxyType = MappingProxyType(
    {key: entry["label"] for key, entry in _RAW.items()}
)
"""Vertical key -> display label, in a stable order."""

HUBSPOT_INDUSTRIES: MappingProxyType = MappingProxyType(
    {value: key for key, entry in _RAW.items() for value in entry["hubspot"]}
)
"""HubSpot industry enumeration value -> vertical key."""


@lru_cache(maxsize=8192)
def vertical_of(text: str) -> str | None:
    """The vertical key for an industry text, or None when it cannot be placed.

    An exact name (key, label, HubSpot value or label, synonym) wins. Otherwise the
    longest known phrase inside the text decides; when the longest phrases found
    point to different verticals ("software for hospitals") the answer is None,
    because a guess would be worse than no vertical. Cached: CRMs repeat the same
    few industry strings across thousands of leads.
    """
    words = normalise(text)
    if not words:
        return None
    exact = _PHRASES.get(words)
    if exact is not None:
        return exact
    found: set[str] = set()
    for size in range(min(_LONGEST, len(words)), 0, -1):
        for start in range(len(words) - size + 1):
            phrase = words[start : start + size]
            if size == 1 and len(phrase[0]) < _MIN_FREE_TEXT_CHARS:
                continue
            key = _PHRASES.get(phrase)
            if key is not None:
                found.add(key)
        if found:
            return found.pop() if len(found) == 1 else None
    return None


def is_vertical(key: str) -> bool:
    """Whether `key` is one of our vertical keys (not free text)."""
    return key in VERTICALS
