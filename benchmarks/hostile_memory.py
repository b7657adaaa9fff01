"""Worker memory under hostile unique inputs: it must stay bounded.

Starts the service under gunicorn with the production config (app/gunicorn_conf.py,
2 workers) on a throw-away SQLite database and registers a client with an ICP (so
lead industries and company sizes take the ICP paths). It warms both workers up with
slices of the mix below, records each worker's RSS, then sends about `--gigabytes`
of inputs that are all unique: random API keys with identities at their limit and
far beyond it, leads with unique long dates, long text and unique emails, unique
client ids, registrations with full profile lists and oversized ones, feedback on
unique lead ids. It prints each worker's RSS at start, peak, after each quarter and
at the end (once the score recorders have written what they held), and exits
non-zero when a worker grew by more than `--limit-mb`, was replaced, or any answer
was unexpected (5xx other than 503 included).

Rate limits are off (RATE_LIMITS_ENABLED=false) unless `--keep-rate-limits`: they
would answer most of these requests with 429 before they reach the caches this run
is about. `--mmap-threshold BYTES` serves with glibc's MALLOC_MMAP_THRESHOLD_ fixed:
glibc otherwise raises its threshold to the largest buffer freed so far, so later
large bodies come from a heap that fragmentation keeps resident (growth of RSS
without growth of live objects).

    python benchmarks/hostile_memory.py [--gigabytes 1.0] [--connections 4]
                                        [--mmap-threshold 262144]
"""

import argparse
import http.client
import json
import multiprocessing
import os
import random
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from app.scoring import FACTOR_KEYS  # noqa: E402 - after the path is set

MB = 2**20
ICP_ENTRY = "Retail " + "r" * 93  # 100 characters that name a vertical
FACTORS = dict.fromkeys(FACTOR_KEYS, 0.5)


def _key() -> str:
    return "ck_" + secrets.token_urlsafe(32)


def _address(token: str, longest_valid: bool = False) -> str:
    """A unique address of 320 characters (the identity fields' limit), or of 254,
    the longest whose domain is valid (registration checks it)."""
    local = (token + "-").ljust(64, "l")
    if longest_valid:
        return f"{local}@{'a' * 63}.{'b' * 63}.{'c' * 57}.com"
    return f"{local}@{'a' * 63}.{'b' * 63}.{'c' * 63}.{'d' * 59}.com"


def _huge_identity(client: dict, index: int) -> tuple[str, dict]:
    size = 15 * MB if index % 10 == 0 else MB
    filler = secrets.token_hex(8) + "x" * size
    body = {"api_key": _key(), "email": "a@b.co", "leads": [{}]}
    field = ("email", "api_key", "client_id")[index % 3]
    body[field] = filler + ("@a.co" if field == "email" else "")
    return "/leads", body


def _unknown_key(client: dict, index: int) -> tuple[str, dict]:
    body = {"api_key": _key(), "email": _address(secrets.token_hex(8))}
    if index % 4 == 0:
        body["client_id"] = "cl_" + secrets.token_hex(18)[:37]  # 40 characters
    return "/leads", {**body, "leads": [{"email": "a@b.co"}]}


def _wrong_identity(client: dict, index: int) -> tuple[str, dict]:
    return "/leads", {
        **_own(client),
        "client_id": "cl_" + secrets.token_hex(18)[:37],
        "leads": [{"email": "a@b.co"}],
    }


def _dates(client: dict, index: int) -> tuple[str, dict]:
    token = secrets.token_hex(6)
    leads = []
    for number in range(10_000):
        unique = f"{token}{number:06d}"
        length = 64 if number % 2 else random.randint(65, 1_000)
        lead = {
            "create_date": unique.ljust(length, "0"),
            "notes_last_updated": f"2026-{unique}".ljust(64, "9"),
        }
        if number % 100 == 0:
            lead["create_date"] = "¹²³⁴⁵⁶⁷⁸" if number % 200 else "①②③④⑤⑥⑦⑧"
        leads.append(lead)
    return "/leads", {**_own(client), "leads": leads}


def _long_text(client: dict, index: int) -> tuple[str, dict]:
    token = secrets.token_hex(6)
    leads = []
    for number in range(3_000):
        unique = f"{token}-{number}"
        leads.append(
            {
                "email": f"{unique}@".ljust(1_500, "e"),
                "industry": f"Retail {unique} ".ljust(1_200, "i"),
                "job_title": f"CEO {unique} ".ljust(1_000, "t"),
                "company": unique.ljust(800, "c"),
                "city": unique.ljust(500, "y"),
            }
        )
    return "/leads", {**_own(client), "leads": leads}


def _unique_leads(client: dict, index: int) -> tuple[str, dict]:
    token = secrets.token_hex(6)
    leads = [
        {
            "email": f"lead-{token}-{number}@company{number % 97}.example",
            "email_open_count": random.random() * 30,  # a new engagement value
            "employee_count": random.randint(1, 100_000),  # a new ICP size fit
            "industry": "Retail",
            "create_date": "2026-01-15",
        }
        for number in range(10_000)
    ]
    return "/leads", {**_own(client), "leads": leads}


def _register(client: dict, index: int) -> tuple[str, dict]:
    profile = {"industry": "Retail", "icp_industries": [ICP_ENTRY] * 50}
    email = _address(secrets.token_hex(8), longest_valid=True)
    return "/config", {"email": email, "profile": profile}


def _huge_profile(client: dict, index: int) -> tuple[str, dict]:
    email = f"owner-{secrets.token_hex(8)}@acme.example"
    if index % 2:
        profile = {"icp_industries": [ICP_ENTRY] * 150_000}
    else:
        profile = {"industry": secrets.token_hex(8) + "i" * 15 * MB}
    return "/config", {"email": email, "profile": profile}


def _feedback(client: dict, index: int) -> tuple[str, dict]:
    return "/feedback", {
        "api_key": client["api_key"],
        "client_id": client["client_id"],
        "lead_id": _address(secrets.token_hex(8)),
        "action": "converted",
        "factors": FACTORS,
    }


def _huge_lead_id(client: dict, index: int) -> tuple[str, dict]:
    body = _feedback(client, index)[1]
    return "/feedback", {**body, "lead_id": secrets.token_hex(8) + "x" * 15 * MB}


def _own(client: dict) -> dict:
    return {"api_key": client["api_key"], "email": client["email"]}


# kind -> (share of the bytes, approximate bytes per request, body, good statuses)
KINDS = {
    "huge identity": (0.30, 2.4 * MB, _huge_identity, {400}),
    "unknown key": (0.01, 420, _unknown_key, {401}),
    "wrong identity": (0.001, 250, _wrong_identity, {401}),
    "unique dates": (0.15, 4.2 * MB, _dates, {200}),
    "long text": (0.25, 15 * MB, _long_text, {200}),
    "unique leads": (0.06, 1.3 * MB, _unique_leads, {200}),
    "registration": (0.01, 6_000, _register, {201}),
    "huge profile": (0.12, 15 * MB, _huge_profile, {400}),
    "feedback": (0.003, 900, _feedback, {200}),
    "huge lead id": (0.09, 15 * MB, _huge_lead_id, {400}),
}


def _send(args: tuple) -> tuple[Counter, int]:
    port, client, jobs = args
    random.seed(os.getpid())
    statuses: Counter = Counter()
    sent = 0
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    headers = {"Content-Type": "application/json"}
    for kind, index in jobs:
        path, body = KINDS[kind][2](client, index)
        data = json.dumps(body).encode()
        del body
        try:
            connection.request("POST", path, data, headers)
            response = connection.getresponse()
            response.read()
            statuses[(kind, response.status)] += 1
        except (OSError, http.client.HTTPException):
            statuses[(kind, "connection reset")] += 1
            connection.close()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        sent += len(data)
    connection.close()
    return statuses, sent


def plan(gigabytes: float) -> list[tuple[str, int]]:
    jobs = []
    for kind, (share, size, _, _) in KINDS.items():
        count = max(1, round(share * gigabytes * 1e9 / size))
        jobs += [(kind, index) for index in range(count)]
    random.Random(7).shuffle(jobs)
    return jobs


def start(workdir: str, workers: int, args: argparse.Namespace) -> tuple:
    """A migrated database, a client with an ICP, and gunicorn serving them."""
    env = dict(
        os.environ,
        DATABASE_URL=f"sqlite:///{workdir}/hostile.db",
        SECRET_KEY="benchmark-only",
        INSTANCE_PATH=f"{workdir}/instance",
    )
    if not args.keep_rate_limits:
        env["RATE_LIMITS_ENABLED"] = "false"
    if args.mmap_threshold:
        env["MALLOC_MMAP_THRESHOLD_"] = str(args.mmap_threshold)

    def conturs(arguments: str) -> str:
        command = [sys.executable, "-m", "app", *arguments.split()]
        done = subprocess.run(
            command, env=env, check=True, cwd=REPO, capture_output=True
        )
        return done.stdout.decode()

    conturs("db upgrade")
    client = json.loads(conturs("clients create --email bench@example.com"))
    client["email"] = "bench@example.com"
    conturs(
        f"clients profile {client['client_id']} --icp-industry Retail "
        "--icp-company-sizes 50-500"
    )
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    gunicorn = (
        f"-m gunicorn -c python:app.gunicorn_conf -w {workers} "
        f"-b 127.0.0.1:{port} --log-level error app:create_app()"
    )
    with open(f"{workdir}/server.log", "wb") as log:
        server = subprocess.Popen(
            [sys.executable, *gunicorn.split()],
            env=env,
            cwd=REPO,
            stdout=log,
            stderr=log,
        )
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            connection.request("GET", "/health")
            if connection.getresponse().status == 200 and len(workers_of(server)) == 2:
                return server, port, client
        except OSError:
            pass
        time.sleep(0.2)
    server.kill()
    raise RuntimeError("service did not start")


def logged_errors(workdir: str) -> Counter:
    """The exceptions the service logged, by their last line."""
    errors: Counter = Counter()
    lines = Path(f"{workdir}/server.log").read_text(errors="replace").splitlines()
    for number, line in enumerate(lines):
        if line.startswith("Traceback"):
            end = number + 1
            while end < len(lines) and (lines[end][:1] in " \t" or not lines[end]):
                end += 1
            if end < len(lines):
                errors[lines[end][:160]] += 1
    return errors


def workers_of(server: subprocess.Popen) -> list[int]:
    """PIDs of the gunicorn master's children."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == server.pid:
            pids.append(int(stat.parent.name))
    return sorted(pids)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gigabytes", type=float, default=1.0)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--limit-mb", type=float, default=50.0)
    parser.add_argument("--keep-rate-limits", action="store_true")
    parser.add_argument("--mmap-threshold", type=int, default=None)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as workdir:
        server, port, client = start(workdir, 2, args)
        try:
            return measure(server, port, client, args, workdir)
        finally:
            server.terminate()
            server.wait(30)


def measure(
    server: subprocess.Popen,
    port: int,
    client: dict,
    args: argparse.Namespace,
    workdir: str,
) -> int:
    """Warm up, record RSS, send the hostile inputs, compare; 1 on failure."""
    pids = workers_of(server)
    booted = {pid: rss_mb(pid) for pid in pids}
    # Warm-up: a slice of the same mix until every worker has served a good part
    # of it (one worker can take all of a light load), so first-use allocations and
    # caches filling up to their bounds are not counted as growth.
    rounds = 0
    while rounds < 8:
        rounds += 1
        warm = plan(args.gigabytes * 0.05)
        shards = [
            (port, client, warm[i :: args.connections]) for i in range(args.connections)
        ]
        with multiprocessing.Pool(args.connections) as pool:
            pool.map(_send, shards)
        if min(cpu_seconds(pid) for pid in pids) >= 5:
            break
    time.sleep(3)  # the score recorders write what the warm-up left
    before = {pid: rss_mb(pid) for pid in pids}
    peak = dict(before)
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.25):
            for pid in pids:
                try:
                    peak[pid] = max(peak[pid], rss_mb(pid))
                except (OSError, RuntimeError):
                    pass

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    jobs = plan(args.gigabytes)
    started = time.monotonic()
    results = []
    quarters = []  # RSS after each quarter of the run: a bound shows as a plateau
    with multiprocessing.Pool(args.connections) as pool:
        for part in range(4):
            share = jobs[part * len(jobs) // 4 : (part + 1) * len(jobs) // 4]
            step = args.connections
            results += pool.map(
                _send, [(port, client, share[i::step]) for i in range(step)]
            )
            quarters.append({pid: rss_mb(pid) for pid in pids})
    elapsed = time.monotonic() - started
    time.sleep(5)  # the recorders' next writes
    stop.set()
    sampler.join()
    after = {pid: rss_mb(pid) for pid in pids}

    statuses: Counter = Counter()
    for counts, _ in results:
        statuses.update(counts)
    sent = sum(size for _, size in results)
    print(
        f"warm-up: {rounds} x {args.gigabytes * 0.05:.2f} GB of the same mix; then "
        f"sent {sent / 1e9:.2f} GB in {len(jobs):,} requests, {elapsed:.0f} s"
    )
    failures = []
    for kind, (_, _, _, good) in KINDS.items():
        answers = {s: n for (k, s), n in sorted(statuses.items(), key=str) if k == kind}
        print(f"  {kind:>15}: {answers}")
        for status in answers:
            if status not in good and status not in (429, 503):
                failures.append(f"{kind} answered {status}")
    print(
        f"{'worker':>8} {'booted':>8} {'start':>8} {'peak':>8} {'end':>8} {'growth':>8}"
    )
    for pid in pids:
        growth = after[pid] - before[pid]
        print(
            f"{pid:>8} {booted[pid]:>7.1f}M {before[pid]:>7.1f}M {peak[pid]:>7.1f}M"
            f" {after[pid]:>7.1f}M {growth:>+7.1f}M"
        )
        if growth > args.limit_mb:
            failures.append(f"worker {pid} grew by {growth:.1f} MB")
    for pid in pids:
        steps = " ".join(f"{quarter[pid]:.0f}M" for quarter in quarters)
        print(f"{pid:>8} RSS after each quarter of the run: {steps}")
    if workers_of(server) != pids:
        failures.append("a worker was replaced during the run")
    for error, count in logged_errors(workdir).most_common():
        print(f"logged {count}x: {error}")
    for failure in failures:
        print(f"FAIL: {failure}")
    if not failures:
        print(f"OK: every worker grew by at most {args.limit_mb:.0f} MB")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
