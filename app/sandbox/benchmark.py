"""How fast the HubSpot emulation answers on a large portal: the seed time, and
the latency of list, batch read, batch update and search for 100 records each,
over real HTTP on loopback with HubSpot's rate limits on.

    .venv/bin/python -m app.sandbox.benchmark [--contacts 20000] [--rounds 40]

The sandbox runs on a manual clock moved forward between calls, so the limits
(110 calls / 10 s, 5 searches / s) stay on without the run waiting for them.
"""

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import requests

from app.sandbox.clock import ManualClock
from app.sandbox.hubspot.sandbox import HubSpotSandbox

HUB_ID = 48213377
PAGE = 100
SCOPES = [
    "oauth",
    "crm.objects.contacts.read",
    "crm.objects.contacts.write",
    "crm.objects.companies.read",
]


def _timed(call: Callable[[int], requests.Response], rounds: int) -> list[float]:
    """Milliseconds per call; each answer must be a success."""
    spent = []
    for turn in range(rounds):
        started = time.perf_counter()
        answer = call(turn)
        spent.append((time.perf_counter() - started) * 1000)
        if answer.status_code not in (200, 207):
            raise RuntimeError(f"{answer.status_code}: {answer.text[:300]}")
    return spent


def run(contacts: int, rounds: int) -> dict[str, Any]:
    """Seed a portal of `contacts` and time each kind of call `rounds` times."""
    clock = ManualClock()
    sandbox = HubSpotSandbox(clock=clock)
    started = time.perf_counter()
    sandbox.seed(HUB_ID, contacts=contacts, deals=contacts // 100)
    seeded = time.perf_counter() - started
    base = sandbox.start()
    token = sandbox.mint_tokens(HUB_ID, scopes=SCOPES)["access_token"]
    ids = [str(i) for i in sandbox.store.account(HUB_ID).order["contacts"]]
    objects = f"{base}/crm/v3/objects/contacts"
    figures: dict[str, Any] = {"contacts": contacts, "seed_seconds": seeded}
    with requests.Session() as http:
        http.headers["Authorization"] = f"Bearer {token}"

        def paced(step: float, call: Callable[[int], requests.Response]):
            def wrapped(turn: int) -> requests.Response:
                clock.advance(step)
                return call(turn)

            return wrapped

        def chunk(turn: int) -> list[str]:
            start = (turn * PAGE * 7) % max(1, len(ids) - PAGE)
            return ids[start : start + PAGE]

        cursors = [None]
        for _ in range(rounds):
            page = http.get(objects, params={"limit": PAGE}).json()
            clock.advance(0.2)
            cursors.append(page.get("paging", {}).get("next", {}).get("after"))
        calls = {
            "list_100": paced(
                0.2,
                lambda t: http.get(
                    objects,
                    params={
                        "limit": PAGE,
                        "properties": "email,firstname,hs_lead_status",
                        **({"after": cursors[t]} if cursors[t] else {}),
                    },
                ),
            ),
            "batch_read_100": paced(
                0.2,
                lambda t: http.post(
                    f"{objects}/batch/read",
                    json={
                        "inputs": [{"id": i} for i in chunk(t)],
                        "properties": ["email", "hs_lead_status", "numemployees"],
                    },
                ),
            ),
            "batch_update_100": paced(
                0.2,
                lambda t: http.post(
                    f"{objects}/batch/update",
                    json={
                        "inputs": [
                            {"id": i, "properties": {"jobtitle": f"Title {t}"}}
                            for i in chunk(t)
                        ]
                    },
                ),
            ),
            "search_100_keyset": paced(
                0.25,
                lambda t: http.post(
                    f"{objects}/search",
                    json={
                        "filterGroups": [
                            {
                                "filters": [
                                    {
                                        "propertyName": "hs_object_id",
                                        "operator": "GT",
                                        "value": chunk(t)[0],
                                    }
                                ]
                            }
                        ],
                        "sorts": [
                            {"propertyName": "hs_object_id", "direction": "ASCENDING"}
                        ],
                        "limit": PAGE,
                    },
                ),
            ),
            "search_100_filtered": paced(
                0.25,
                lambda t: http.post(
                    f"{objects}/search",
                    json={
                        "filterGroups": [
                            {
                                "filters": [
                                    {
                                        "propertyName": "lastmodifieddate",
                                        "operator": "GTE",
                                        "value": "0",
                                    },
                                    {
                                        "propertyName": "hs_lead_status",
                                        "operator": "NEQ",
                                        "value": "UNQUALIFIED",
                                    },
                                ]
                            }
                        ],
                        "limit": PAGE,
                    },
                ),
            ),
        }
        for name, call in calls.items():
            spent = _timed(call, rounds)
            figures[name] = {
                "median_ms": statistics.median(spent),
                "p95_ms": sorted(spent)[int(0.95 * (len(spent) - 1))],
            }
    sandbox.stop()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=40)
    options = parser.parse_args()
    figures = run(options.contacts, options.rounds)
    print(f"seed {figures['contacts']} contacts: {figures['seed_seconds']:.2f} s")
    for name, value in figures.items():
        if isinstance(value, dict):
            print(
                f"{name:>20}: median {value['median_ms']:.1f} ms, "
                f"p95 {value['p95_ms']:.1f} ms"
            )


if __name__ == "__main__":
    main()
