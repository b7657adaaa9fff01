"""Runs the app under gunicorn for `conturs serve` (the Procfile calls gunicorn)."""

import subprocess
import sys
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication

from app.services.demo import ensure_demo_client


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    def __init__(self, options: dict[str, Any]) -> None:
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        # Each worker builds its own app so no connection crosses a fork.
        from app import create_app

        return create_app()


def run_server(app: Flask, host: str, port: int, workers: int) -> None:
    """Print how to call the service, then serve until interrupted."""
    if app.config["EMBEDDED"]:
        demo = ensure_demo_client(app.extensions["conturs.sessions"], app.instance_path)
        print(
            f"Conturs on http://{host}:{port}  demo client: "
            f"email={demo['email']} api_key={demo['api_key']} "
            f"(stored in {app.instance_path}/demo-client.json)",
            flush=True,
        )
    app.extensions["conturs.engine"].dispose()
    # The embedded default runs its job consumer alongside the web workers.
    consumer = (
        subprocess.Popen([sys.executable, "-m", "app", "worker", "--workers", "1"])
        if app.config["EMBEDDED"]
        else None
    )
    try:
        _Gunicorn(
            {
                "bind": f"{host}:{port}",
                "workers": workers,
                "accesslog": None,
                "errorlog": "-",
                "loglevel": "info",
            }
        ).run()
    finally:
        if consumer is not None:
            consumer.terminate()
            consumer.wait(10)
