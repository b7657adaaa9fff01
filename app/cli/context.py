"""What every `conturs` command shares: the app, built once on first use."""

import click
from flask import Flask

from app import create_app
from app.container import Services, services_of


class _Context:
    """Builds the app once, on first use, so `--help` needs no database."""

    def __init__(self) -> None:
        self._app: Flask | None = None

    @property
    def app(self) -> Flask:
        if self._app is None:
            self._app = create_app()
        return self._app

    @property
    def services(self) -> Services:
        return services_of(self.app)


pass_context = click.make_pass_decorator(_Context, ensure=True)
