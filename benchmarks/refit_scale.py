"""Refit of every client at scale: wall time and peak memory of the product's job.

The requirement: the refit of every client loads each client's peers once per
run, in at most 20 minutes and 1 GB for 10,000 clients.

Builds a population (refit_population.py: N clients over the taxonomy's
verticals and sizes with stated profiles, skewed outcome counts, 90 days of
feedback) in a fresh SQLite file, or in the empty PostgreSQL database given with
--database-url, then runs the production `refit_clients` twice, each run in a
fresh child process so its memory is its own:

1. the first refit of every client: each finds its similar clients (every
   unpinned client with enough outcomes) and pools their outcomes into its
   prior, then fits its own outcomes toward that prior;
2. the hourly refit on the same outcomes, in a fresh process (nothing kept from
   the first): the same pooling, each client now judged against what it serves.

Per run: wall time, clients/s, peak RSS (VmHWM, else ru_maxrss; --tracemalloc
adds the peak of Python allocations and slows the run), weight versions
published, clients served similar_clients, personalised clients, and a digest
of every weight version: same data and code give the same digest, so a change
meant to keep the weights must keep it. --profile DIR writes each run's cProfile
statistics. BLAS threads are the environment's (OPENBLAS_NUM_THREADS=1 ...).

    python benchmarks/refit_scale.py [--clients 10000] [--seed 1]
        [--database-url postgresql+psycopg://...] [--tracemalloc] [--profile DIR]
        [--sample N] [--stop-after SECONDS]

`--clients 500` runs in about a minute. A run still going after --stop-after
seconds (default: the limit plus 30 s; 0: never) is stopped and fails, with its
peak RSS so far. `--sample N` refits only N random clients in the second run
and extrapolates its time to all of them (peers are still every client's).
Exits 1 when a run takes longer than MAX_SECONDS or its peak RSS exceeds
MAX_RSS_BYTES (refit_report.py), or when the second run serves no client
similar_clients (then it did not measure pooling).
"""

import argparse
import cProfile
import hashlib
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from pathlib import Path
from subprocess import PIPE

HERE = Path(__file__).resolve().parent
for path in (HERE.parent, HERE):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from refit_population import build  # noqa: E402
from refit_report import MAX_SECONDS, failures, render  # noqa: E402
from sqlalchemy import func, select  # noqa: E402
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402

from app.db import make_engine, make_session_factory  # noqa: E402
from app.migrations import upgrade  # noqa: E402
from app.models import Client, WeightVersion  # noqa: E402
from app.personalization.selection import SIMILAR_CLIENTS  # noqa: E402
from app.services.learning.weights import refit_clients  # noqa: E402

CLIENTS = 10_000
BUILD_TIMEOUT = 60.0  # seconds a bulk insert may take (the store timeout)


def refit_run(
    url: str,
    trace: bool = False,
    profile: Path | None = None,
    sample: int | None = None,
    seed: int = 1,
) -> dict:
    """Run the production refit of every client (or of `sample` of them, drawn
    with `seed`) once; its figures as a dict.

    Peak RSS is this process's (ru_maxrss), so run it in a fresh process.
    """
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    try:
        with sessions() as session:
            everyone = list(session.scalars(select(Client.id).order_by(Client.id)))
        ids = sorted(random.Random(seed).sample(everyone, sample)) if sample else None
        before = count_versions(sessions)
        if trace:
            tracemalloc.start()
        profiler = cProfile.Profile()
        started = time.perf_counter()
        published = (profiler.runcall if profile else _call)(
            refit_clients, sessions, ids
        )
        seconds = time.perf_counter() - started
        traced = tracemalloc.get_traced_memory()[1] if trace else None
        tracemalloc.stop()
        if profile:
            profiler.dump_stats(profile)
        versions = count_versions(sessions) - before
        digest = versions_digest(sessions)
    finally:
        engine.dispose()
    methods = Counter(p.method for p in published)
    figures = {
        "clients": len(published),
        "seconds": round(seconds, 2),
        "clients_per_s": round(len(published) / max(seconds, 1e-9), 1),
        "peak_rss_bytes": peak_rss(),
        "tracemalloc_peak_bytes": traced,
        "versions_published": versions,
        "similar_clients": methods[SIMILAR_CLIENTS],
        "personalised": sum(1 for p in published if p.personalised),
        "methods": dict(sorted(methods.items())),
        "digest": digest,
    }
    if sample:  # what refitting everyone would take at this pace
        figures["estimated_seconds"] = round(seconds * len(everyone) / sample, 1)
    return figures


def _call(function, *args):  # type: ignore[no-untyped-def]
    return function(*args)


def count_versions(sessions: sessionmaker[Session]) -> int:
    """Weight versions in the database."""
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(WeightVersion)) or 0


def versions_digest(sessions: sessionmaker[Session]) -> str:
    """A digest of every weight version: what was published, not when."""
    digest = hashlib.sha256()
    with sessions() as session:
        rows = session.scalars(
            select(WeightVersion).order_by(
                WeightVersion.client_id, WeightVersion.version
            )
        )
        for v in rows:
            fields = [v.client_id, v.version, v.method, v.weights, v.personalised]
            fields += [v.n_outcomes, v.holdout_auc, v.details]
            digest.update(json.dumps(fields, sort_keys=True).encode())
    return digest.hexdigest()[:16]


def run_in_child(
    url: str,
    *,
    trace: bool = False,
    profile: Path | None = None,
    sample: int | None = None,
    stop_after: float | None = None,
) -> dict:
    """`refit_run` in a fresh interpreter, so its peak RSS is the refit's alone;
    stopped after `stop_after` seconds (then with its peak RSS so far)."""
    command = [sys.executable, str(Path(__file__).resolve()), "--measure", url]
    command += ["--tracemalloc"] if trace else []
    command += ["--profile-file", str(profile)] if profile else []
    command += ["--sample", str(sample)] if sample else []
    started = time.perf_counter()
    with subprocess.Popen(command, stdout=PIPE, stderr=PIPE, text=True) as child:
        try:
            out, err = child.communicate(timeout=stop_after)
        except subprocess.TimeoutExpired:
            peak = peak_rss(child.pid)
            child.kill()
            child.communicate()
            seconds = round(time.perf_counter() - started, 1)
            return {"stopped": True, "seconds": seconds, "peak_rss_bytes": peak}
    if child.returncode != 0:
        raise RuntimeError(f"refit run failed:\n{err}")
    return json.loads(out.strip().splitlines()[-1])


def peak_rss(pid: int | None = None) -> int:
    """Peak RSS so far of process `pid` (None: this one); 0 when unknown.

    VmHWM on Linux: there a child's ru_maxrss starts at its parent's peak (it is
    kept across fork and exec), which would hide the child's own.
    """
    try:
        status = Path(f"/proc/{pid or 'self'}/status").read_text()
    except OSError:
        status = ""
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    if pid is not None:
        return 0
    scale = 1 if sys.platform == "darwin" else 1024  # bytes on macOS, else KiB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


def prepare(url: str, clients: int, seed: int) -> dict:
    """Migrate the empty database at `url` and build the population in it."""
    engine = make_engine(url, store_timeout=BUILD_TIMEOUT)
    try:
        upgrade(engine)
        with engine.connect() as connection:
            if connection.scalar(select(func.count()).select_from(Client)):
                raise SystemExit(f"{url} already holds clients; give an empty one")
        started = time.perf_counter()
        population = build(engine, clients, seed)
        return {
            "clients": len(population.client_ids),
            "outcomes": population.outcomes,
            "seconds": round(time.perf_counter() - started, 1),
        }
    finally:
        engine.dispose()


def measured_runs(url: str, args: argparse.Namespace) -> list[dict]:
    """Both refit runs, each in a child process; stops after a stopped run."""
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    runs: list[dict] = []
    try:
        for number, sample in ((1, None), (2, args.sample)):
            before = count_versions(sessions)
            stats = args.profile / f"refit-run{number}.prof" if args.profile else None
            run = run_in_child(
                url,
                trace=args.tracemalloc,
                profile=stats,
                sample=sample,
                stop_after=args.stop_after or None,
            )
            run.setdefault("versions_published", count_versions(sessions) - before)
            runs.append(run)
            if run.get("stopped"):
                break
    finally:
        engine.dispose()
    return runs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=CLIENTS)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database-url", help="an empty database (default: SQLite)")
    parser.add_argument("--tracemalloc", action="store_true")
    parser.add_argument("--profile", type=Path, help="directory for cProfile stats")
    parser.add_argument("--sample", type=int, help="second run: refit only N clients")
    parser.add_argument("--stop-after", type=float, default=MAX_SECONDS + 30)
    parser.add_argument("--json", action="store_true", help="print the figures")
    parser.add_argument("--measure", help=argparse.SUPPRESS)  # the child's side
    parser.add_argument("--profile-file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        figures = refit_run(
            args.measure, args.tracemalloc, args.profile_file, args.sample, args.seed
        )
        print(json.dumps(figures))
        return 0
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="refit-scale-") as folder:
        url = args.database_url or f"sqlite:///{folder}/refit.db"
        population = prepare(url, args.clients, args.seed)
        runs = measured_runs(url, args)
    print(render(population, runs))
    if args.json:
        print(json.dumps({"population": population, "runs": runs}, indent=2))
    broken = failures(runs)
    for reason in broken:
        print(f"FAIL: {reason}")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
