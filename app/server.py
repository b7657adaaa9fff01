"""Runs the app under gunicorn for `conturs serve`, with the same settings and hooks
as the Procfile (app/gunicorn_conf.py)."""

import os
import subprocess
import sys
from typing import Any

from flask import Flask
from gunicorn.app.base import Application

from app.container import services_of
from app.services.demo import ensure_demo_client

GUNICORN_CONFIG = "python:app.gunicorn_conf"
JOB_STORE_TIMEOUT_SECONDS = "60"


class _Gunicorn(Application):  # type: ignore[misc]
    def __init__(self, options: dict[str, Any]) -> None:
        self._options = options
        super().__init__()

    def init(self, parser: Any, opts: Any, args: Any) -> None:
        return None

    def load_config(self) -> None:
        self.load_config_from_module_name_or_filename(GUNICORN_CONFIG)
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        # Each worker builds its own app so no connection crosses a fork.
        from app import create_app

        return create_app()


def run_server(app: Flask, host: str, port: int, workers: int) -> None:
    """Print how to call the service, then serve until interrupted."""
    services = services_of(app)
    if app.config["EMBEDDED"]:
        demo = ensure_demo_client(services.sessions, app.instance_path)
        print(
            f"Conturs on http://{host}:{port}  demo client: "
            f"email={demo['email']} api_key={demo['api_key']} "
            f"(stored in {app.instance_path}/demo-client.json)",
            flush=True,
        )
    services.engine.dispose()
    # The embedded default runs its job consumer alongside the web workers; jobs
    # may wait longer on the database than a request (as in the Procfile).
    consumer = (
        subprocess.Popen(
            [sys.executable, "-m", "app", "worker", "--workers", "1"],
            env={**os.environ, "STORE_TIMEOUT_SECONDS": JOB_STORE_TIMEOUT_SECONDS},
        )
        if app.config["EMBEDDED"]
        else None
    )
    try:
        _Gunicorn({"bind": f"{host}:{port}", "workers": workers}).run()
    finally:
        if consumer is not None:
            consumer.terminate()
            consumer.wait(10)
