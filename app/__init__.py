"""Conturs: explainable, self-learning lead scoring as an API and as CRM apps.

`create_app` is the only way an application is built; it reads the environment once
and opens no database connection (engines connect lazily).
"""

from collections.abc import Mapping
from typing import Any

from flask import Flask

from app.config import instance_path, load_settings
from app.db import make_engine, make_session_factory


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the application from the environment plus `config` overrides."""
    app = Flask(__name__, instance_path=instance_path(config))
    settings = load_settings(app.instance_path, config)
    app.config.update(settings)
    app.config["MAX_CONTENT_LENGTH"] = settings["MAX_BODY_BYTES"]
    _register_storage(app)
    _register_services(app)
    _register_jobs(app)
    _register_blueprints(app)
    return app


def _register_storage(app: Flask) -> None:
    engine = make_engine(app.config["DATABASE_URL"])
    app.extensions["conturs.engine"] = engine
    app.extensions["conturs.sessions"] = make_session_factory(engine)


def _register_services(app: Flask) -> None:
    from app.services.learning.config import ConfigApi
    from app.services.learning.remote import (
        FeedbackOutbox,
        RemoteConfigSource,
        RemoteFeedback,
    )
    from app.services.scoring.configs import ClientConfigCache, LocalConfigSource
    from app.services.scoring.leads import LeadScoringService
    from app.services.scoring.recorder import SnapshotRecorder

    sessions = app.extensions["conturs.sessions"]
    secret = app.config["SECRET_KEY"]
    remote_url = app.config["CONFIG_API_URL"]
    if remote_url:
        source: Any = RemoteConfigSource(remote_url, sessions)
        outbox = FeedbackOutbox(remote_url, sessions, secret)
        app.extensions["conturs.outbox"] = outbox
        app.extensions["conturs.feedback"] = RemoteFeedback(outbox, sessions, secret)
    else:
        source = LocalConfigSource(sessions)
        config_api = ConfigApi(
            sessions, secret, open_registration=app.config["OPEN_REGISTRATION"]
        )
        app.extensions["conturs.config_api"] = config_api
        app.extensions["conturs.feedback"] = config_api
    configs = ClientConfigCache(source, app.config["WEIGHTS_CACHE_TTL_SECONDS"])
    recorder = SnapshotRecorder(sessions, secret)
    app.extensions["conturs.client_configs"] = configs
    app.extensions["conturs.snapshots"] = recorder
    app.extensions["conturs.lead_scoring"] = LeadScoringService(
        configs, max_leads=app.config["MAX_LEADS_PER_REQUEST"], snapshots=recorder
    )


def _register_jobs(app: Flask) -> None:
    from app.jobs.queue import JobQueue, make_huey
    from app.jobs.tasks import register_tasks

    queue = JobQueue(make_huey(app.config, app.instance_path))
    app.extensions["conturs.jobs"] = queue
    register_tasks(queue, app)
    if "conturs.config_api" in app.extensions:
        app.extensions["conturs.config_api"].enqueue = queue.enqueue


def _register_blueprints(app: Flask) -> None:
    from app.web import api, config_api
    from app.web.errors import register_error_handlers
    from app.web.fast_path import LeadsFastPath

    app.register_blueprint(api.bp)
    app.register_blueprint(config_api.bp)
    register_error_handlers(app)
    app.wsgi_app = LeadsFastPath(  # type: ignore[method-assign]
        app.wsgi_app,
        app.extensions["conturs.lead_scoring"],
        max_body=app.config["MAX_BODY_BYTES"],
        cors_origins=app.config["CORS_ORIGINS"],
    )
