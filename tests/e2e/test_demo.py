"""`conturs demo` as `make demo` starts it: a newcomer follows the printed install
link through the sandbox's consent page, the demo portal's contacts get scores
well within two minutes of the start, an edit in "HubSpot" reaches the app by
webhook and rescores, and Ctrl-C stops both servers."""

import html
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

from tests.processes import REPO, free_port

SCORED_WITHIN = 120.0  # seconds from the process start, the newcomer's patience
DEMO_EDIT = {"jobtitle": "Chief Executive Officer", "hs_lead_status": "IN_PROGRESS"}


def _read_lines(stream, lines: list[str]) -> None:
    for line in stream:
        lines.append(line)


def _wait_for(lines: list[str], text: str, process, seconds: float) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and process.poll() is None:
        if text in "".join(lines):
            return "".join(lines)
        time.sleep(0.1)
    raise AssertionError(f"no {text!r} in the demo's output:\n{''.join(lines)}")


def _consent(install_url: str, sandbox_url: str, hub_id: str) -> requests.Response:
    """A browser: our install link, the consent page (GET, then POST its form
    with the portal it offers), our callback, the status page."""
    with requests.Session() as browser:
        start = browser.get(install_url, allow_redirects=False, timeout=10)
        assert start.status_code == 302, start.text
        authorize = start.headers["Location"]
        assert authorize.startswith(f"{sandbox_url}/oauth/authorize?")
        page = browser.get(authorize, timeout=10)
        assert page.status_code == 200 and "Connect app" in page.text
        form = {
            name: html.unescape(value)
            for name, value in re.findall(
                r'<input type="hidden" name="([^"]*)" value="([^"]*)">', page.text
            )
        }
        offered = re.search(r'name="hub_id" value="(\d+)"', page.text)
        assert offered and offered.group(1) == hub_id
        answer = browser.post(
            f"{sandbox_url}/oauth/authorize",
            data={
                **form,
                "hub_id": hub_id,
                "user": "owner@acme-robotics.example",
                "decision": "allow",
            },
            allow_redirects=False,
            timeout=10,
        )
        assert answer.status_code == 302, answer.text
        return browser.get(answer.headers["Location"], timeout=30)


def _scores(sandbox_url: str, hub_id: str) -> dict[str, str | None]:
    """Every contact of the portal and its conturs_score, through the CRM API."""
    token = requests.post(
        f"{sandbox_url}/_control/accounts/{hub_id}/tokens", timeout=10
    ).json()["access_token"]
    found, after = {}, None
    while True:
        page = requests.get(
            f"{sandbox_url}/crm/v3/objects/contacts",
            params={"limit": 100, "properties": "conturs_score"}
            | ({"after": after} if after else {}),
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        ).json()
        found.update(
            {c["id"]: c["properties"].get("conturs_score") for c in page["results"]}
        )
        after = page.get("paging", {}).get("next", {}).get("after")
        if not after:
            return found


def _score_of(contact_url: str) -> str | None:
    contact = requests.get(contact_url, timeout=10).json()
    return contact["properties"].get("conturs_score") or None


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        kids = children.get(todo.pop(), [])
        found += kids
        todo += kids
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _refuses(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def test_the_demo_scores_the_portal_after_an_install_and_stops_on_ctrl_c(tmp_path):
    port, sandbox_port = free_port(), free_port()
    env = {
        **os.environ,
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "DEMO_PORT": str(port),
        "DEMO_SANDBOX_PORT": str(sandbox_port),
    }
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "app", "demo", "--workers", "1"],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=_read_lines, args=(process.stdout, lines))
    reader.start()
    try:
        printed = _wait_for(lines, "Press Ctrl-C", process, 60)
        install = re.search(rf"http://localhost:{port}/hubspot/install", printed)
        contact = re.search(
            rf"(http://127\.0\.0\.1:{sandbox_port})/_control/accounts/(\d+)"
            r"/contacts/\d+",
            printed,
        )
        assert install and contact, printed
        sandbox_url, hub_id = contact.group(1), contact.group(2)
        assert f"accounts show --crm hubspot --account {hub_id}" in printed
        webhooks = requests.get(f"{sandbox_url}/_control/webhooks", timeout=10).json()
        assert webhooks["targetUrl"] == f"http://localhost:{port}/hubspot/webhooks"
        assert webhooks["subscriptions"]

        landed = _consent(install.group(0), sandbox_url, hub_id)
        assert landed.status_code == 200 and "Conturs is connected" in landed.text

        # The demo contact comes last in the backfill; then read all of them.
        while _score_of(contact.group(0)) is None:
            assert time.monotonic() - started < SCORED_WITHIN, "no score yet"
            time.sleep(0.5)
        scores = _scores(sandbox_url, hub_id)
        while not all(scores.values()):
            assert time.monotonic() - started < SCORED_WITHIN, "not all scored"
            time.sleep(1)
            scores = _scores(sandbox_url, hub_id)
        elapsed = time.monotonic() - started
        print(f"demo: {len(scores)} contacts scored {elapsed:.1f} s after the start")
        assert len(scores) > 300 and elapsed < SCORED_WITHIN

        # An edit in "HubSpot" reaches the app by webhook and is rescored.
        before = _score_of(contact.group(0))
        requests.patch(
            contact.group(0), json={"properties": DEMO_EDIT}, timeout=10
        ).raise_for_status()
        deadline = time.monotonic() + 30
        while _score_of(contact.group(0)) == before:
            assert time.monotonic() < deadline, "the edit was not rescored"
            time.sleep(0.3)
    finally:
        family = _descendants(process.pid)
        process.send_signal(signal.SIGINT)
        process.wait(40)
        reader.join(5)
        process.stdout.close()
    assert process.returncode == 0, "".join(lines)
    assert "Stopping" in "".join(lines)
    assert len(family) >= 3  # the sandbox, gunicorn (+ its worker), the consumer
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in family) and time.monotonic() < deadline:
        time.sleep(0.2)
    lingering = [pid for pid in family if _alive(pid)]
    for pid in lingering:  # leave no orphan behind a failing run
        os.kill(pid, signal.SIGKILL)
    assert not lingering
    assert _refuses(port) and _refuses(sandbox_port)
