"""JSON encoding of scored leads, built from cached byte fragments.

A response repeats the same few factor entries (a factor's value takes few distinct
values, and the weight is fixed per client), so each entry is encoded once per client
and value, and every lead is assembled by joining bytes instead of building dicts.

Most factors take a handful of values, but engagement (fractional counts) and
company size against an ICP range are continuous, so a caller can send a new value
with every lead: each factor's cache is bounded by entries, and each fragment is
kept as a compact copy (orjson returns every result in a buffer of about 4 KB).
"""

from collections.abc import Sequence

import orjson

from app.scoring import FACTOR_KEYS, FACTOR_NAMES, IDENTITY, ValueTables
from app.scoring.labels import LabelBands

# Real leads give at most a few hundred values per factor (whole counts, whole
# days); the bound caps a continuous factor at ~0.2 MB per client configuration.
_FRAGMENT_CACHE_LIMIT = 1024
_DISPLAY_DIGITS = 4


class ScoreEncoder:
    """Encodes {email, score, label, factors[]} objects for one weight set, value
    tables and bands.

    A factor whose value comes from a learned table is shown with the table's
    `value` (what the weight multiplies), its `seed_value` and `"source":
    "table"`; every other factor looks exactly as the seed's reference shows it.
    """

    def __init__(
        self,
        weights: Sequence[float],
        bands: LabelBands,
        tables: ValueTables = IDENTITY,
    ) -> None:
        self._weights = tuple(weights)
        self._tables = tables
        self._fragments: list[dict[float, bytes]] = [{} for _ in FACTOR_KEYS]
        labels = bands.table()
        self._heads = tuple(
            b',"score":%d,"label":%s,"factors":[' % (score, orjson.dumps(label))
            for score, label in enumerate(labels)
        )
        self.labels = labels

    def lead(self, email: str, score: int, values: Sequence[float]) -> bytes:
        """One scored lead as a JSON object (`values`: its seed factor values)."""
        fragments = self._fragments
        parts = []
        for index, value in enumerate(values):
            cache = fragments[index]
            fragment = cache.get(value)
            if fragment is None:
                fragment = self._encode_factor(index, value)
                if len(cache) >= _FRAGMENT_CACHE_LIMIT:
                    cache.clear()
                cache[value] = fragment
            parts.append(fragment)
        return b"".join(
            (
                b'{"email":',
                orjson.dumps(email),
                self._heads[score],
                b",".join(parts),
                b"]}",
            )
        )

    def _encode_factor(self, index: int, seed_value: float) -> bytes:
        key = FACTOR_KEYS[index]
        weight = self._weights[index]
        factor: dict[str, object] = {"key": key, "name": FACTOR_NAMES[key]}
        if self._tables.sources[index]:
            value = self._tables.apply_one(index, seed_value)
            factor.update(
                weight=weight,
                value=round(value, _DISPLAY_DIGITS),
                contribution=round(weight * value, _DISPLAY_DIGITS),
                seed_value=round(seed_value, _DISPLAY_DIGITS),
                source="table",
            )
        else:
            factor.update(
                weight=weight,
                value=round(seed_value, _DISPLAY_DIGITS),
                contribution=round(weight * seed_value, _DISPLAY_DIGITS),
            )
        encoded = orjson.dumps(factor)
        return memoryview(encoded).tobytes()  # cached: not orjson's 4 KB buffer


def encode_response(
    lead_objects: Sequence[bytes], method: str, client_id: str, version: int | None
) -> bytes:
    """The POST /leads response body around already-encoded leads."""
    return b"".join(
        (
            b'{"scores":[',
            b",".join(lead_objects),
            b'],"method":',
            orjson.dumps(method),
            b',"client_id":',
            orjson.dumps(client_id),
            b',"weights_version":',
            orjson.dumps(version),
            b"}",
        )
    )
