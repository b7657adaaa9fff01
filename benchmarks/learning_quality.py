"""Learning quality of personalised weights on a simulated world with known truth.

Clients live in several verticals. Each vertical has hidden true weights, drawn
half from its documented industry prior and half at random (so the prior is
useful but wrong); each client's true weights are its vertical's, perturbed
(log-normal noise), so "similar" clients share the truth only approximately.
Leads get correlated, realistic factor values; a lead converts with probability
sigmoid(b + s * (true weights . values)), b and s set per client for a ~20 % base
rate and a true ROC-AUC near 0.8. Outcomes become feedback actions (converted,
replied, clicked; ignored, bounced — bounces mostly where the email is invalid).

Everything is learned through the product code (app.personalization): peers and
clients are refit every 25 new outcomes with the production settings (change cap,
floor, held-out gate), neighbours are found by profile similarity, and the served
weights come from `choose_weights`. Quality is the expected ROC-AUC on 4,000
held-out leads per client, computed against the true conversion probabilities
(each lead counts as positive with weight p and negative with weight 1 - p), which
removes outcome-sampling noise from the comparison.

    python benchmarks/learning_quality.py [--seed N] [--quick] [--json]

Exits 1 when an acceptance check fails.
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from app.personalization.learning import (  # noqa: E402
    DEFAULT_SETTINGS,
    REWARDS,
    Sample,
    fit_weights,
    roc_auc,
)
from app.personalization.priors import DEFAULT, PRIORS  # noqa: E402
from app.personalization.profile import ClientProfile  # noqa: E402
from app.personalization.selection import choose_weights, prior_choice  # noqa: E402
from app.personalization.similarity import Peer, nearest  # noqa: E402
from app.scoring import DEFAULT_BANDS  # noqa: E402

OWN_SIZES = (0, 10, 30, 100, 300)
SIMILAR_COUNTS = (0, 1, 4, 5, 10, 20)
PEER_OUTCOMES = 200
REFIT_EVERY = 25
HELD_OUT_LEADS = 4000
BANDS = ("Hot Lead", "Warm Lead", "Cool Lead", "Cold Lead")
COUNTRIES = ("US", "GB", "DE", "FR", "PL", "UA")
SETTINGS = DEFAULT_SETTINGS  # the production settings; experiments may replace it
CLIENT_NOISE = 0.3  # sd of the log-normal noise of a client's true weights


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def make_leads(rng: np.random.Generator, n: int) -> np.ndarray:
    """n x 10 factor values with the engine's value sets and realistic correlations."""
    q = rng.normal(size=n)  # a lead's latent warmth: complete, engaged, senior
    u = rng.random((n, 12))
    has_email = u[:, 0] < 0.92
    valid = has_email & (u[:, 1] < 0.93)
    company = u[:, 2] < sigmoid(0.8 + 0.6 * q)
    industry = u[:, 3] < sigmoid(0.2 + 0.5 * q)
    days = np.floor(rng.exponential(60.0, n))
    recency = np.clip(1 - days / 90, 0, 1)
    status_levels = np.array([0.1, 0.3, 0.5, 0.7, 1.0])
    status = status_levels[
        np.digitize(0.7 * q + rng.normal(size=n), [-1.3, 0, 0.7, 1.4])
    ]
    status[u[:, 4] < 0.1] = 0.0
    opens = rng.poisson(np.exp(0.2 + 0.6 * q + rng.normal(0, 0.5, n)))
    opens[u[:, 5] < 0.35] = 0
    clicks = rng.binomial(opens, np.clip(0.12 + 0.05 * q, 0.01, 0.9))
    engagement = np.minimum(1, opens / 10 * 0.4 + clicks / 3 * 0.6)
    others = (rng.random((n, 6)) < sigmoid(0.4 + 0.6 * q)[:, None]).sum(axis=1)
    complete = (has_email + company + industry + others) / 9
    seniority_levels = np.array([0.3, 0.6, 0.8, 1.0])
    seniority = seniority_levels[
        np.digitize(0.4 * q + rng.normal(size=n), [0.1, 0.9, 1.5])
    ]
    seniority[u[:, 6] < 0.2] = 0.0
    activity = np.where(
        u[:, 7] < sigmoid(-2 + 0.7 * q), 0.7, np.where(u[:, 8] < 0.3, 0.5, 0.2)
    )
    return np.column_stack(
        [
            has_email,
            valid,
            company,
            industry,
            recency,
            status,
            engagement,
            complete,
            seniority,
            activity,
        ]
    ).astype(float)


class Client:
    """A simulated client: hidden true weights and its own outcome model."""

    def __init__(self, cid: str, vertical: str, truth: np.ndarray, rng) -> None:
        self.cid, self.vertical, self.truth, self.rng = cid, vertical, truth, rng
        low, high = [(1, 10), (11, 50), (51, 200), (201, 1000), (1001, 5000)][
            rng.integers(5)
        ]
        self.profile = ClientProfile(
            country=COUNTRIES[rng.integers(len(COUNTRIES))],
            vertical=vertical,
            company_size=(low, high),
        )
        reference = truth @ make_leads(rng, 4000).T
        self.slope = 1.7 / reference.std()  # true AUC ~0.8
        centred = self.slope * (reference - reference.mean())
        lo, hi = -10.0, 10.0
        for _ in range(60):  # intercept for a 20 % base rate
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if sigmoid(centred + mid).mean() < 0.2 else (lo, mid)
        self.intercept = lo - self.slope * reference.mean()

    def probability(self, x: np.ndarray) -> np.ndarray:
        return sigmoid(self.intercept + self.slope * (x @ self.truth))

    def outcomes(self, n: int) -> list[Sample]:
        x = make_leads(self.rng, n)
        won = self.rng.random(n) < self.probability(x)
        u = self.rng.random(n)
        actions = np.where(
            won,
            np.where(u < 0.35, "converted", np.where(u < 0.7, "replied", "clicked")),
            np.where((x[:, 1] == 0) & (u < 0.7) | (u < 0.03), "bounced", "ignored"),
        )
        return [
            Sample(tuple(x[i]), REWARDS[str(actions[i])], f"{self.cid}-{i}")
            for i in range(n)
        ]


def refit(samples: list[Sample], prior, prior_method: str):
    """Production-like learning: a refit every REFIT_EVERY outcomes and at the end."""
    served, last = tuple(prior), None
    ends = sorted({*range(REFIT_EVERY, len(samples), REFIT_EVERY), len(samples)})
    for end in ends:
        fit = fit_weights(
            samples[:end],
            prior,
            prior_method=prior_method,
            previous=served,
            settings=SETTINGS,
        )
        if fit.accepted:
            served, last = fit.weights, fit
    return last


def expected_auc(weights, x: np.ndarray, p: np.ndarray) -> float:
    scores = x @ np.asarray(weights)
    return roc_auc(
        np.concatenate([scores, scores]),
        np.concatenate([np.ones(len(p), bool), np.zeros(len(p), bool)]),
        np.concatenate([p, 1 - p]),
    )


def band_rates(weights, x: np.ndarray, p: np.ndarray) -> dict:
    scores = np.clip(np.floor(x @ np.asarray(weights) * 100 + 0.5), 0, 100)
    labels = np.array([DEFAULT_BANDS.label_for(int(s)) for s in scores])
    return {
        band: {
            "share": float((labels == band).mean()),
            "conversion": float(p[labels == band].mean())
            if (labels == band).any()
            else None,
        }
        for band in BANDS
    }


def run(seed: int = 1, quick: bool = False, client_noise: float = CLIENT_NOISE) -> dict:
    """Simulate, learn through the product code, and return every figure."""
    rng = np.random.default_rng(seed)
    n_verticals, n_targets = (3, 4) if quick else (6, 8)
    peers_per_vertical = max(SIMILAR_COUNTS)
    verticals = [str(v) for v in rng.choice(sorted(PRIORS), n_verticals, replace=False)]
    keys = (
        "default",
        "industry_prior",
        "similar_clients",
        "served",
        "own_only",
        "true",
    )
    by_size = {n: {k: [] for k in keys} for n in OWN_SIZES}
    by_similar = {m: {"auc": [], "oracle": [], "method": None} for m in SIMILAR_COUNTS}
    truth_of: dict[str, np.ndarray] = {}
    bands_x, bands_p, bands_w = [], [], {k: [] for k in ("default", "served", "true")}
    peers: dict[str, list[Peer]] = {}
    clients: list[Client] = []
    for v in verticals:
        prior = np.asarray(PRIORS[v])
        centre = 0.5 * prior + 0.5 * rng.dirichlet(np.ones(10))

        def draw(cid: str, v=v, centre=centre) -> Client:
            truth = centre * np.exp(rng.normal(0, client_noise, 10))
            return Client(cid, v, truth / truth.sum(), rng)

        peers[v] = []
        for j in range(peers_per_vertical):
            peer = draw(f"{v}-peer{j}")
            truth_of[peer.cid] = peer.truth
            fit = refit(peer.outcomes(PEER_OUTCOMES), PRIORS[v], "industry_prior")
            weights = fit.weights if fit else PRIORS[v]
            peers[v].append(Peer(peer.cid, peer.profile, weights, PEER_OUTCOMES))
        clients += [draw(f"{v}-client{t}") for t in range(n_targets)]
    for client in clients:
        x = make_leads(client.rng, HELD_OUT_LEADS)
        p = client.probability(x)
        others = [
            peer for v, group in peers.items() if v != client.vertical for peer in group
        ]
        for m in SIMILAR_COUNTS:
            found = nearest(client.profile, peers[client.vertical][:m] + others, k=20)
            choice = prior_choice(found, client.vertical)
            by_similar[m]["auc"].append(expected_auc(choice.weights, x, p))
            by_similar[m]["method"] = choice.method
            if found:  # the best any combination of these clients could do
                mean_truth = np.mean([truth_of[n.client_id] for n in found], axis=0)
                by_similar[m]["oracle"].append(expected_auc(mean_truth, x, p))
        found = nearest(client.profile, peers[client.vertical][:5] + others, k=20)
        base = prior_choice(found, client.vertical)
        stream = client.outcomes(max(OWN_SIZES))
        for n in OWN_SIZES:
            own = refit(stream[:n], base.weights, base.method)
            served = choose_weights(
                pinned=None, own_fit=own, neighbours=found, vertical=client.vertical
            )
            alone = refit(stream[:n], DEFAULT, "default")
            row = by_size[n]
            row["default"].append(expected_auc(DEFAULT, x, p))
            row["industry_prior"].append(expected_auc(PRIORS[client.vertical], x, p))
            row["similar_clients"].append(expected_auc(base.weights, x, p))
            row["served"].append(expected_auc(served.weights, x, p))
            row["own_only"].append(
                expected_auc(alone.weights if alone else DEFAULT, x, p)
            )
            row["true"].append(expected_auc(client.truth, x, p))
            if n == max(OWN_SIZES):
                bands_w["served"].append(served.weights)
        bands_w["default"].append(DEFAULT)
        bands_w["true"].append(client.truth)
        bands_x.append(x)
        bands_p.append(p)

    def summary(values: list[float]) -> dict:
        a = np.asarray(values)
        return {"mean": float(a.mean()), "se": float(a.std(ddof=1) / np.sqrt(len(a)))}

    def pooled_bands(kind: str) -> dict:
        counts = {b: [0.0, 0.0] for b in BANDS}
        for w, x, p in zip(bands_w[kind], bands_x, bands_p, strict=True):
            for band, fig in band_rates(w, x, p).items():
                counts[band][0] += fig["share"] * len(p)
                counts[band][1] += (fig["conversion"] or 0) * fig["share"] * len(p)
        total = sum(c[0] for c in counts.values())
        return {
            b: {"share": c[0] / total, "conversion": c[1] / c[0] if c[0] else None}
            for b, c in counts.items()
        }

    zero = by_size[0]
    default_auc = np.mean(zero["default"])
    true_auc = np.mean(zero["true"])
    gap = {
        m: (np.mean(by_similar[m]["auc"]) - default_auc) / (true_auc - default_auc)
        for m in SIMILAR_COUNTS
    }
    return {
        "seed": seed,
        "quick": quick,
        "client_noise": client_noise,
        "verticals": verticals,
        "clients": len(clients),
        "peers_per_vertical": peers_per_vertical,
        "peer_outcomes": PEER_OUTCOMES,
        "held_out_leads": HELD_OUT_LEADS,
        "by_own_outcomes": {
            n: {k: summary(v) for k, v in row.items()} for n, row in by_size.items()
        },
        "by_similar_clients": {
            m: {
                "method": d["method"],
                **summary(d["auc"]),
                "gap_closed": gap[m],
                "oracle_gap_closed": (
                    (np.mean(d["oracle"]) - default_auc) / (true_auc - default_auc)
                    if d["oracle"]
                    else None
                ),
                "vs_industry_prior": summary(
                    np.subtract(d["auc"], zero["industry_prior"]).tolist()
                ),
            }
            for m, d in by_similar.items()
        },
        "served_vs_prior": {
            n: summary(
                np.subtract(
                    by_size[n]["served"], by_size[n]["similar_clients"]
                ).tolist()
            )
            for n in OWN_SIZES
        },
        "bands": {kind: pooled_bands(kind) for kind in bands_w},
    }


def checks(report: dict) -> list[tuple[str, bool, str]]:
    """The issue's acceptance checks, each as (name, passed, figures)."""
    found = []
    five = report["by_similar_clients"][5]
    found.append(
        (
            "similar_clients (5 x 200) closes >= 70 % of the AUC gap",
            five["method"] == "similar_clients" and five["gap_closed"] >= 0.70,
            f"{five['gap_closed']:.0%} via {five['method']}",
        )
    )
    for m, d in report["by_similar_clients"].items():
        if d["method"] != "similar_clients":
            continue
        diff = d["vs_industry_prior"]
        found.append(
            (
                f"similar_clients ({m}) not worse than industry_prior beyond noise",
                diff["mean"] >= -2 * diff["se"],
                f"{diff['mean']:+.4f} (2 SE = {2 * diff['se']:.4f})",
            )
        )
    for n, diff in report["served_vs_prior"].items():
        found.append(
            (
                f"served weights at {n} own outcomes not worse than their prior",
                diff["mean"] >= -2 * diff["se"],
                f"{diff['mean']:+.4f} (2 SE = {2 * diff['se']:.4f})",
            )
        )
    for kind in ("served", "true"):
        rates = [report["bands"][kind][b] for b in BANDS]
        present = [r["conversion"] for r in rates if r["share"] >= 0.01]
        falling = len(present) >= 3 and all(
            a > b for a, b in zip(present, present[1:], strict=False)
        )
        found.append(
            (
                f"conversion falls from Hot to Cold ({kind} weights)",
                falling,
                " > ".join(f"{c:.1%}" for c in present),
            )
        )
    return found


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def render(report: dict, results: list[tuple[str, bool, str]]) -> str:
    lines = [
        f"Learning quality (seed {report['seed']}, {report['clients']} clients in "
        f"{len(report['verticals'])} verticals, {report['held_out_leads']} "
        "held-out leads each; expected ROC-AUC, mean over clients)",
        "",
    ]
    cols = (
        "default",
        "industry_prior",
        "similar_clients",
        "served",
        "own_only",
        "true",
    )
    lines.append("own outcomes | " + " | ".join(f"{c:>15}" for c in cols))
    for n, row in report["by_own_outcomes"].items():
        lines.append(
            f"{n:>12} | " + " | ".join(f"{row[c]['mean']:>15.3f}" for c in cols)
        )
    lines += [
        "",
        f"similar clients x {report['peer_outcomes']} outcomes (0 own) | "
        "method          |   AUC | gap closed | vs industry_prior | their mean truth",
    ]
    for m, d in report["by_similar_clients"].items():
        diff = d["vs_industry_prior"]
        lines.append(
            f"{m:>39} | {d['method']:<15} | {d['mean']:.3f} | "
            f"{d['gap_closed']:>10.0%} | {diff['mean']:+.4f} ± {2 * diff['se']:.4f}"
            f"   | {_pct(d['oracle_gap_closed'])}"
        )
    lines += ["", "band      | " + " | ".join(f"{k:>22}" for k in report["bands"])]
    for band in BANDS:
        cells = []
        for kind in report["bands"]:
            fig = report["bands"][kind][band]
            conv = "-" if fig["conversion"] is None else f"{fig['conversion']:.1%}"
            cells.append(f"{fig['share']:>6.1%} leads, {conv:>6} conv")
        lines.append(f"{band:<9} | " + " | ".join(f"{c:>22}" for c in cells))
    lines += [
        "",
        "served = what choose_weights serves with 5 similar clients (own "
        "learned once accepted); own_only = own data shrunk toward default",
        "",
    ]
    lines += [
        f"[{'PASS' if ok else 'FAIL'}] {name}: {fig}" for name, ok, fig in results
    ]
    return "\n".join(lines)


def _plain(value: object) -> object:
    """numpy scalars as plain numbers for JSON."""
    return value.item() if hasattr(value, "item") else str(value)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="fewer clients, ~10 s")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument(
        "--client-noise",
        type=float,
        default=CLIENT_NOISE,
        help="sd of the log-normal spread of true weights within a vertical",
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    report = run(args.seed, args.quick, args.client_noise)
    results = checks(report)
    report["checks"] = [
        {"name": n, "passed": bool(ok), "figures": f} for n, ok, f in results
    ]
    report["seconds"] = round(time.perf_counter() - started, 1)
    if args.json:
        print(json.dumps(report, indent=2, default=_plain))
    else:
        print(render(report, results))
        print(f"\n{report['seconds']} s")
    return 0 if all(ok for _, ok, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main())
