"""POST /leads throughput under gunicorn, and the engine alone.

Starts the service with gunicorn (the Procfile's settings and hooks,
app/gunicorn_conf.py; 2 workers by default) on a throw-away SQLite
database, registers a client, and loads it with wrk (-t1 -c8, like the reference
measurement) when installed, else with a Python keep-alive load generator. Prints
requests/s and leads/s for batches of 1, 100 and 1,000 leads (median of runs), and
the engine's leads/s on one core.

    python benchmarks/leads_throughput.py [--runs 3] [--duration 6] [--json]
"""

import argparse
import http.client
import json
import multiprocessing
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

# The Go reference service, measured side by side with ours on a quiet machine of
# this kind (2 cores) on 2026-12-01: ~6,000 requests/s with one lead per request.
REFERENCE_LEADS_PER_S = {1: 6_000, 100: 100_000, 1000: 145_000}


def make_leads(count: int, seed: int = 7) -> list[dict]:
    """Realistic, varied leads (some sparse, some complete)."""
    rng = random.Random(seed)
    titles = [
        "CEO",
        "Founder",
        "VP Sales",
        "Marketing Manager",
        "Engineer",
        "Head of Growth",
        "Director of IT",
        "Analyst",
        "",
    ]
    statuses = ["new", "open", "in_progress", "qualified", "unqualified", "", "NEW"]
    industries = ["Technology", "COMPUTER_SOFTWARE", "Retail", "Healthcare", ""]
    leads = []
    for i in range(count):
        day = rng.randint(1, 28)
        month = rng.randint(1, 12)
        lead = {
            "email": f"lead{i}@company{rng.randint(1, 500)}.com",
            "first_name": rng.choice(["Ann", "Bob", "Chen", ""]),
            "last_name": rng.choice(["Lee", "Smith", ""]),
            "company": rng.choice(["Acme Inc", "Globex", "", "Initech"]),
            "job_title": rng.choice(titles),
            "industry": rng.choice(industries),
            "lead_status": rng.choice(statuses),
            "email_open_count": rng.randint(0, 20),
            "email_click_count": rng.randint(0, 6),
            "num_deals": rng.choice([0, 0, 0, 1, 2]),
            "create_date": f"2026-{month:02d}-{day:02d}T10:{day:02d}:00Z",
            "notes_last_updated": f"2026-{month:02d}-{day:02d}",
        }
        if i % 3 == 0:
            lead.update(phone="+1-555-0100", city="Austin", country="USA")
        leads.append(lead)
    return leads


def engine_leads_per_second(seconds: float = 3.0) -> float:
    """Engine only (factor values + score), one core."""
    from app.scoring import DEFAULT_WEIGHTS, compute_score, factor_values

    leads = make_leads(1000)
    weights = tuple(DEFAULT_WEIGHTS.values())
    now = time.time()
    done = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        for lead in leads:
            compute_score(factor_values(lead, now), weights)
        done += len(leads)
    return done / (time.perf_counter() - start)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve(
    env: dict[str, str], port: int, workers: int | None, worker_class: str | None = None
) -> subprocess.Popen:
    """gunicorn with the production config on `port`, once /health answers."""
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            # The production settings and hooks (Procfile, conturs serve).
            "-c",
            "python:app.gunicorn_conf",
            *(["-w", str(workers)] if workers else []),
            *(["-k", worker_class] if worker_class else []),
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "app:create_app()",
        ],
        env=env,
        cwd=REPO,
    )
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            connection.request("GET", "/health")
            if connection.getresponse().status == 200:
                return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise RuntimeError("service did not start")


def start_service(workdir: str, workers: int, worker_class: str | None) -> tuple:
    """Serve on a fresh SQLite database; `worker_class` None keeps the config's."""
    env = dict(
        os.environ,
        DATABASE_URL=f"sqlite:///{workdir}/bench.db",
        SECRET_KEY="benchmark-only",
        INSTANCE_PATH=f"{workdir}/instance",
    )
    conturs = [sys.executable, "-m", "app"]
    subprocess.run(
        [*conturs, "db", "upgrade"], env=env, check=True, cwd=REPO, capture_output=True
    )
    created = subprocess.run(
        [*conturs, "clients", "create", "--email", "bench@example.com"],
        env=env,
        check=True,
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    client = json.loads(created.stdout)
    port = free_port()
    server = serve(env, port, workers, worker_class)
    return server, port, client


def workers_cpu_seconds(master_pid: int) -> float:
    """CPU time (user + system) used so far by the gunicorn master's workers, so
    cost per request can be compared on a machine others are also using."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == master_pid:  # ppid
            total += int(fields[11]) + int(fields[12])  # utime + stime, in ticks
    return total / os.sysconf("SC_CLK_TCK")


def run_wrk(port: int, body_path: str, duration: int) -> float:
    script = Path(body_path).with_suffix(".lua")
    script.write_text(
        'wrk.method = "POST"\n'
        'wrk.headers["Content-Type"] = "application/json"\n'
        f'local f = io.open("{body_path}", "rb")\nwrk.body = f:read("*a")\nf:close()\n'
    )
    out = subprocess.run(
        [
            "wrk",
            "-t1",
            "-c8",
            f"-d{duration}s",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}/leads",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    if "Non-2xx" in out:
        raise RuntimeError(f"wrk saw errors:\n{out}")
    for line in out.splitlines():
        if line.startswith("Requests/sec:"):
            return float(line.split()[1])
    raise RuntimeError(f"unexpected wrk output:\n{out}")


def _python_load(args: tuple) -> int:
    port, body, deadline = args
    connection = http.client.HTTPConnection("127.0.0.1", port)
    done = 0
    headers = {"Content-Type": "application/json"}
    while time.time() < deadline:
        connection.request("POST", "/leads", body, headers)
        response = connection.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"status {response.status}")
        done += 1
    return done


def run_python_load(port: int, body_path: str, duration: int) -> float:
    body = Path(body_path).read_bytes()
    deadline = time.time() + duration
    with multiprocessing.Pool(8) as pool:
        counts = pool.map(_python_load, [(port, body, deadline)] * 8)
    return sum(counts) / duration


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--duration", type=int, default=6)
    parser.add_argument("--workers", type=int, default=2)
    # Default: the worker class of app/gunicorn_conf.py, so the figures are the
    # production ones; `--worker-class sync` measures the plain sync worker.
    parser.add_argument("--worker-class", default=None)
    parser.add_argument("--sizes", default="1,100,1000")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    load = run_wrk if shutil.which("wrk") else run_python_load
    results: dict = {
        "load_generator": "wrk -t1 -c8" if load is run_wrk else "python",
        "workers": args.workers,
        "batches": {},
    }
    with tempfile.TemporaryDirectory() as workdir:
        server, port, client = start_service(workdir, args.workers, args.worker_class)
        try:
            for size in map(int, args.sizes.split(",")):
                body_path = f"{workdir}/body{size}.json"
                Path(body_path).write_text(
                    json.dumps(
                        {
                            "api_key": client["api_key"],
                            "email": "bench@example.com",
                            "leads": make_leads(size),
                        }
                    )
                )
                load(port, body_path, 1)  # warm up every worker
                cpu_before = workers_cpu_seconds(server.pid)
                rates = [load(port, body_path, args.duration) for _ in range(args.runs)]
                cpu = workers_cpu_seconds(server.pid) - cpu_before
                rps = statistics.median(rates)
                results["batches"][size] = {
                    "requests_per_s": round(rps, 1),
                    "worker_cpu_us_per_request": round(
                        cpu / (sum(rates) * args.duration) * 1e6
                    ),
                    "leads_per_s": round(rps * size),
                    "vs_reference": round(rps * size / REFERENCE_LEADS_PER_S[size], 2)
                    if size in REFERENCE_LEADS_PER_S
                    else None,
                }
        finally:
            server.terminate()
            server.wait(10)
    results["engine_leads_per_s_one_core"] = round(engine_leads_per_second())
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print(
            f"load generator: {results['load_generator']}, "
            f"gunicorn workers: {args.workers} "
            f"({args.worker_class or 'app/gunicorn_conf.py worker class'})"
        )
        print(
            f"{'batch':>6} {'requests/s':>11} {'leads/s':>10} {'vs Go ref':>9}"
            f" {'worker CPU µs/req':>18}"
        )
        for size, row in results["batches"].items():
            print(
                f"{size:>6} {row['requests_per_s']:>11,.0f} {row['leads_per_s']:>10,}"
                f" {row['vs_reference'] or '':>8}x"
                f" {row['worker_cpu_us_per_request']:>18,}"
            )
        print(
            f"engine alone: {results['engine_leads_per_s_one_core']:,} leads/s "
            "on one core"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
