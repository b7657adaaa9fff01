"""Conturs: explainable, self-learning lead scoring as an API and as CRM apps.

`create_app` is the only way an application is built; it reads the environment once
and opens no connection (engines connect lazily).
"""

from collections.abc import Mapping
from typing import Any

from flask import Flask

from app.config import instance_path, load_settings
from app.db import make_engine, make_session_factory
from app.services.client_configs import ClientConfigCache
from app.services.lead_scoring import LeadScoringService


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the application from the environment plus `config` overrides."""
    app = Flask(__name__, instance_path=instance_path(config))
    settings = load_settings(app.instance_path, config)
    app.config.update(settings)
    app.config["MAX_CONTENT_LENGTH"] = settings["MAX_BODY_BYTES"]
    _register_storage(app)
    _register_services(app)
    _register_blueprints(app)
    return app


def _register_storage(app: Flask) -> None:
    engine = make_engine(app.config["DATABASE_URL"])
    app.extensions["conturs.engine"] = engine
    app.extensions["conturs.sessions"] = make_session_factory(engine)


def _register_services(app: Flask) -> None:
    sessions = app.extensions["conturs.sessions"]
    configs = ClientConfigCache(sessions, app.config["WEIGHTS_CACHE_TTL_SECONDS"])
    app.extensions["conturs.client_configs"] = configs
    app.extensions["conturs.lead_scoring"] = LeadScoringService(
        configs, max_leads=app.config["MAX_LEADS_PER_REQUEST"]
    )


def _register_blueprints(app: Flask) -> None:
    from app.web import api
    from app.web.errors import register_error_handlers
    from app.web.fast_path import LeadsFastPath

    app.register_blueprint(api.bp)
    register_error_handlers(app)
    app.wsgi_app = LeadsFastPath(  # type: ignore[method-assign]
        app.wsgi_app,
        app.extensions["conturs.lead_scoring"],
        max_body=app.config["MAX_BODY_BYTES"],
        cors_origins=app.config["CORS_ORIGINS"],
    )
