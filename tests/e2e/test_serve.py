"""`conturs serve` as `make run` starts it: gunicorn, embedded SQLite, a demo client;
the README's example request scores; a restart keeps the database and the key."""

import json
import os
import subprocess
import sys
import time

import requests

from tests.examples import EXAMPLE_LEADS
from tests.processes import REPO, conturs, free_port


def serve(env: dict, port: int) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "app", "serve", "--port", str(port)],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    banner = process.stdout.readline()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/health", timeout=1).ok:
                return process, banner
        except requests.ConnectionError:
            time.sleep(0.1)
    process.kill()
    raise AssertionError("service did not start")


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    process.wait(15)
    process.stdout.close()


def test_serve_scores_the_example_and_restarts_on_the_same_data(tmp_path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["INSTANCE_PATH"] = str(tmp_path / "instance")
    conturs(env, "db", "upgrade")
    issued = json.loads(
        conturs(env, "clients", "create", "--email", "sales@yourcompany.com")
    )
    port = free_port()
    process, banner = serve(env, port)
    try:
        demo = json.loads((tmp_path / "instance" / "demo-client.json").read_text())
        assert demo["api_key"] in banner
        body = {
            "leads": EXAMPLE_LEADS,
            "api_key": issued["api_key"],
            "email": "sales@yourcompany.com",
        }
        response = requests.post(f"http://127.0.0.1:{port}/leads", json=body, timeout=5)
        assert response.status_code == 200
        scores = response.json()["scores"]
        assert [s["email"] for s in scores] == [
            "john.doe@techcorp.com",
            "jane@startup.io",
        ]
        assert scores[1]["label"] == "Cool Lead"
    finally:
        stop(process)

    process, banner = serve(env, port)
    try:
        assert demo["api_key"] in banner  # same database, same demo key
        body = {
            "leads": EXAMPLE_LEADS,
            "api_key": demo["api_key"],
            "email": demo["email"],
        }
        response = requests.post(f"http://127.0.0.1:{port}/leads", json=body, timeout=5)
        assert response.status_code == 200
    finally:
        stop(process)
