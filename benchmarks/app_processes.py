"""The app's worker as a separate process, for the live harnesses
(hubspot_live.py, uspacy_processes.py): started as the Procfile starts it,
SIGKILLed, its log read, and an account's published configuration seen
through an in-process view of the same database."""

import os
import signal
import subprocess
import sys
from pathlib import Path

from flask import Flask

from app.container import services_of
from app.models import Client, CrmAccount
from app.services.scoring.configs import ClientConfig, config_of

REPO = Path(__file__).resolve().parent.parent


class WorkerProcess:
    """Mixed into a harness that has these attributes."""

    env: dict[str, str]
    app: Flask
    worker: subprocess.Popen | None
    worker_log: Path | None

    def start_worker(self) -> None:
        """`conturs worker` as the Procfile runs it (its log in `worker_log`)."""
        with open(self.worker_log or os.devnull, "ab") as log:
            self.worker = subprocess.Popen(
                [sys.executable, "-m", "app", "worker"],
                env=self.env,
                cwd=REPO,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def kill_worker(self) -> None:
        """SIGKILL: no shutdown hook, no graceful finish of a running task."""
        if self.worker is not None:
            self.worker.send_signal(signal.SIGKILL)
            self.worker.wait(10)
            self.worker = None

    def worker_output(self, chars: int = 4000) -> str:
        """The end of the worker's log (every worker started so far)."""
        log = self.worker_log
        return log.read_text(errors="replace")[-chars:] if log and log.exists() else ""

    def config(self, account_pk: int) -> ClientConfig:
        """The weights, bands and profile the account's records are scored with."""
        with services_of(self.app).sessions() as session:
            account = session.get(CrmAccount, account_pk)
            return config_of(session, session.get(Client, account.client_id))
