"""`conturs demo` (`make demo`): the emulated HubSpot and the app wired to each
other on loopback, with a seeded demo portal, so a newcomer can install the app,
watch scores appear, close a deal and see the outcome counted.

Two child processes: `conturs sandbox` (the emulated HubSpot, in memory) and
`conturs serve` (gunicorn and its job consumer) on a demo database in
<INSTANCE_PATH or ./instance>/demo/, reset on every start since the sandbox starts
empty too (an earlier run's tokens would name nothing). Ctrl-C stops both.
"""

import json
import os
import select
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import click
import requests

from app.crm.hubspot.manifest import OAUTH_CALLBACK_PATH, webhooks_config

STARTUP_SECONDS = 60
STOP_SECONDS = 20
# What the demo owns in its instance folder; generated secrets are kept.
RESET_FILES = ["demo-client.json", "demo.log"] + [
    f"{db}.db{end}" for db in ("conturs", "jobs") for end in ("", "-wal", "-shm")
]
# Left empty for the app, so it runs embedded whatever the shell has set.
EMBEDDED_UNSET = (
    "DATABASE_URL REDIS_URL CONFIG_API_URL SECRET_KEY TOKEN_ENCRYPTION_KEYS".split()
)
# One contact with an open deal, named in the printed steps.
DEMO_CONTACT = {
    "firstname": "Olena",
    "lastname": "Koval",
    "email": "olena.koval@acme-robotics.example",
    "company": "Acme Robotics",
    "jobtitle": "Marketing Manager",
    "hs_lead_status": "NEW",
    "lifecyclestage": "lead",
}
DEMO_EDIT = {"jobtitle": "Chief Executive Officer", "hs_lead_status": "IN_PROGRESS"}
DEMO_DEAL = {
    "dealname": "Acme Robotics pilot",
    "pipeline": "default",
    "dealstage": "presentationscheduled",
    "amount": "25000",
}


@click.command("demo")
@click.option("--port", type=int, default=8090, show_default=True, envvar="DEMO_PORT")
@click.option(
    "--sandbox-port",
    type=int,
    default=8091,
    show_default=True,
    envvar="DEMO_SANDBOX_PORT",
    help="Port of the emulated HubSpot.",
)
@click.option("--contacts", type=int, default=300, show_default=True)
@click.option("--deals", type=int, default=120, show_default=True)
@click.option("--workers", type=int, default=2, show_default=True)
def demo(port: int, sandbox_port: int, contacts: int, deals: int, workers: int) -> None:
    """Run the app against the HubSpot sandbox, with a demo portal to install on."""
    for number, name in ((port, "DEMO_PORT"), (sandbox_port, "DEMO_SANDBOX_PORT")):
        _check_free(number, name)
    instance = Path(os.environ.get("INSTANCE_PATH") or "instance").resolve() / "demo"
    _reset(instance)
    children = _Children(instance / "demo.log")
    for signum in (signal.SIGINT, signal.SIGTERM):  # even where SIGINT was ignored
        signal.signal(signum, signal.default_int_handler)
    base_url = f"http://localhost:{port}"
    try:
        hubspot = children.start_sandbox(sandbox_port, base_url, contacts, deals)
        _wire_webhooks(hubspot["base_url"], base_url)
        ids = _demo_deal(hubspot["base_url"], hubspot["demo_hub_id"])
        children.run_app(_app_env(instance, port, base_url, hubspot), port, workers)
        click.echo(_steps(base_url, hubspot, ids, instance))
        sys.stdout.flush()
        while True:
            time.sleep(0.5)
            gone = children.exited()
            if gone:
                raise click.ClickException(f"the {gone} stopped\n{children.tail()}")
    except KeyboardInterrupt:
        click.echo("Stopping the app and the sandbox…")
    except (requests.RequestException, subprocess.SubprocessError) as error:
        raise click.ClickException(f"{error}\n{children.tail()}") from None
    finally:
        children.stop()


def _check_free(port: int, name: str) -> None:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            raise click.ClickException(
                f"port {port} is in use: choose another with {name}=…"
            ) from None


def _reset(instance: Path) -> None:
    instance.mkdir(mode=0o700, parents=True, exist_ok=True)
    for name in RESET_FILES:
        (instance / name).unlink(missing_ok=True)


class _Children:
    """The sandbox and the app, their output in one log file."""

    def __init__(self, log_path: Path) -> None:
        self.log_path = log_path
        self._log = open(log_path, "ab")  # open while they run
        self._running: dict[str, subprocess.Popen[Any]] = {}

    def _start(self, name: str, args: list[str], **options: Any) -> subprocess.Popen:
        options.setdefault("stdout", self._log)
        process = subprocess.Popen(
            [sys.executable, "-m", "app", *args], stderr=self._log, **options
        )
        self._running[name] = process
        return process

    def start_sandbox(
        self, port: int, base_url: str, contacts: int, deals: int
    ) -> dict[str, Any]:
        """`conturs sandbox` with the app's redirect URL; its HubSpot settings."""
        process = self._start(
            "sandbox",
            ["sandbox", "--hubspot-port", str(port), "--hubspot-redirect-url"]
            + [base_url + OAUTH_CALLBACK_PATH]
            + ["--contacts", str(contacts), "--deals", str(deals)],
            stdout=subprocess.PIPE,
            text=True,
        )
        out = process.stdout
        ready = out is not None and select.select([out], [], [], STARTUP_SECONDS)[0]
        line = out.readline() if ready and out is not None else ""
        if not line:  # it exited (a port taken?) or hangs
            raise click.ClickException(f"the sandbox did not start\n{self.tail()}")
        return json.loads(line)["hubspot"]

    def run_app(self, env: dict[str, str], port: int, workers: int) -> None:
        """Migrate the demo database, then `conturs serve` until /health answers."""
        subprocess.run(
            [sys.executable, "-m", "app", "db", "upgrade"],
            env=env,
            stdout=self._log,
            stderr=self._log,
            check=True,
            timeout=STARTUP_SECONDS,
        )
        args = ["serve", "--port", str(port), "--workers", str(workers)]
        process = self._start("app", args, env=env)
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if requests.get(f"http://127.0.0.1:{port}/health", timeout=1).ok:
                    return
            except requests.RequestException:
                time.sleep(0.2)
        raise click.ClickException(f"the app did not start\n{self.tail()}")

    def exited(self) -> str | None:
        """The name of a child that stopped by itself, if any."""
        return next((n for n, p in self._running.items() if p.poll() is not None), None)

    def tail(self, lines: int = 20) -> str:
        """The end of the log, for a failure message."""
        self._log.flush()
        text = self.log_path.read_text(errors="replace").splitlines()[-lines:]
        return "\n".join(text + [f"(full log: {self.log_path})"])

    def stop(self) -> None:
        """Interrupt each child (as Ctrl-C does), then kill what lingers."""
        for signum in (signal.SIGINT, signal.SIGTERM):  # a second Ctrl-C waits too
            signal.signal(signum, signal.SIG_IGN)
        for process in self._running.values():
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
        deadline = time.monotonic() + STOP_SECONDS
        for process in self._running.values():
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
            if process.stdout is not None:
                process.stdout.close()
        self._log.close()


def _control(method: str, url: str, body: dict[str, Any]) -> dict[str, Any]:
    """One call to the sandbox's control API (no token: the tester's hand)."""
    response = requests.request(method, url, json=body, timeout=10)
    response.raise_for_status()
    return response.json()


def _wire_webhooks(sandbox_url: str, base_url: str) -> None:
    """Subscribe the app as its developer project does (manifest/hubspot/)."""
    settings = webhooks_config(base_url)["config"]
    lists = settings["subscriptions"].values()
    subscriptions = [entry for entries in lists for entry in entries]
    body = {**settings["settings"], "subscriptions": subscriptions}
    _control("PUT", f"{sandbox_url}/_control/webhooks", body)


def _demo_deal(sandbox_url: str, hub_id: int) -> tuple[str, str]:
    """Add the contact and open deal the printed steps name; their ids."""
    account = f"{sandbox_url}/_control/accounts/{hub_id}"
    contact = _control("POST", f"{account}/contacts", {"properties": DEMO_CONTACT})
    body = {"properties": DEMO_DEAL, "contact_ids": [contact["id"]]}
    return contact["id"], _control("POST", f"{account}/deals", body)["id"]


def _app_env(
    instance: Path, port: int, base_url: str, hubspot: dict[str, Any]
) -> dict[str, str]:
    """Embedded (SQLite, queue and secrets in the demo folder), with HubSpot =
    the sandbox's registered app."""
    return {
        **os.environ,
        **dict.fromkeys(EMBEDDED_UNSET, ""),
        "INSTANCE_PATH": str(instance),
        "PORT": str(port),
        "PUBLIC_BASE_URL": base_url,
        "HUBSPOT_CLIENT_ID": hubspot["client_id"],
        "HUBSPOT_CLIENT_SECRET": hubspot["client_secret"],
        "HUBSPOT_APP_ID": str(hubspot["app_id"]),
        "HUBSPOT_API_BASE_URL": hubspot["base_url"],
        "HUBSPOT_AUTHORIZE_URL": hubspot["authorize_url"],
    }


def _steps(
    base_url: str, hubspot: dict[str, Any], ids: tuple[str, str], instance: Path
) -> str:
    sandbox_url, hub_id = hubspot["base_url"], hubspot["demo_hub_id"]
    contact = f"{sandbox_url}/_control/accounts/{hub_id}/contacts/{ids[0]}"
    deal = f"{sandbox_url}/_control/accounts/{hub_id}/deals/{ids[1]}"
    as_json = "-H 'Content-Type: application/json'"
    edit = shlex.quote(json.dumps({"properties": DEMO_EDIT}))
    won = shlex.quote(json.dumps({"stage": "closedwon"}))
    folder = _shown(instance)
    show = (
        f"INSTANCE_PATH={shlex.quote(folder)} DATABASE_URL= "
        f"HUBSPOT_CLIENT_ID={shlex.quote(hubspot['client_id'])} "
        f"HUBSPOT_CLIENT_SECRET={shlex.quote(hubspot['client_secret'])} "
        f"{_conturs()} accounts show --crm hubspot --account {hub_id}"
    )
    return f"""
Conturs demo: the app and an emulated HubSpot, wired to each other.
  App               {base_url}
  HubSpot sandbox   {sandbox_url}  (demo portal {hub_id})
  Demo database     {folder}/conturs.db (reset on every start)
  Logs              {folder}/demo.log

1. Install the app on the demo portal: open this link in a browser and click
   "Connect app" (portal {hub_id} is filled in):
     {base_url}/hubspot/install

2. Watch scores appear (the backfill takes a few seconds): this contact,
   Olena Koval, gets conturs_score, conturs_label and conturs_explanation:
     {contact}
   Edit her in "HubSpot" and her score changes:
     curl -s -X PATCH {contact} {as_json} -d {edit}

3. Close her deal, "{DEMO_DEAL["dealname"]}", as won:
     curl -s -X POST {deal}/stage {as_json} -d {won}

4. See the outcome counted ("converted" under "feedback"):
     {show}

Press Ctrl-C to stop both servers.
"""


def _shown(path: Path) -> str:
    """A path as short as it can be said from here."""
    return os.path.relpath(path) if path.is_relative_to(Path.cwd()) else str(path)


def _conturs() -> str:
    """How to run `conturs` from here: the script beside this Python, if any."""
    script = Path(sys.executable).with_name("conturs")
    return _shown(script.absolute()) if script.exists() else "conturs"
