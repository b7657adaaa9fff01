"""Conturs: explainable, self-learning lead scoring as an API and as CRM apps.

`create_app` is the only way an application is built; it reads the environment once
and opens no database connection (engines connect lazily). Its steps run in order:
settings → services (with the job queue) → tasks → Flask routes → rate limits → the
/leads fast path.
"""

import os
from collections.abc import Mapping
from typing import Any

# Learning fits are many small matrices (tens of columns): a BLAS that spreads
# each over every core only adds contention with the web workers and the other
# fits (a 2,000-outcome value-table fit took 6-15 ms on one thread, up to 0.6 s
# threaded on a busy machine). Set before anything imports numpy; an operator's
# own setting wins.
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

from flask import Flask  # noqa: E402

from app.config import instance_path, load_settings  # noqa: E402


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the application from the environment plus `config` overrides."""
    from app.container import attach, build_services
    from app.jobs.tasks import register_tasks

    app = Flask(__name__, instance_path=instance_path(config))
    settings = load_settings(app.instance_path, config)
    app.config.update(settings)
    app.config["MAX_CONTENT_LENGTH"] = settings["MAX_BODY_BYTES"]
    services = build_services(settings, app.instance_path)
    attach(app, services)
    register_tasks(services)
    _register_routes(app)
    _register_rate_limits(app)
    _install_fast_path(app)
    return app


def _register_routes(app: Flask) -> None:
    from app.web import (
        api,
        config_api,
        hubspot,
        hubspot_webhooks,
        pages,
        uspacy,
        uspacy_webhooks,
    )
    from app.web.errors import register_error_handlers, register_request_ids

    register_request_ids(app)
    app.register_blueprint(api.bp)
    app.register_blueprint(config_api.bp)
    app.register_blueprint(hubspot.bp)
    app.register_blueprint(hubspot_webhooks.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(uspacy.bp)
    app.register_blueprint(uspacy_webhooks.bp)
    register_error_handlers(app)


def _register_rate_limits(app: Flask) -> None:
    from app.web.route_limits import register_rate_limits

    register_rate_limits(app)


def _install_fast_path(app: Flask) -> None:
    from app.container import services_of
    from app.web.fast_path import LeadsFastPath
    from app.web.ratelimit import leads_rate_limits

    app.wsgi_app = LeadsFastPath(  # type: ignore[method-assign]
        app.wsgi_app,
        services_of(app).scoring,
        max_body=app.config["MAX_BODY_BYTES"],
        max_leads=app.config["MAX_LEADS_PER_REQUEST"],
        cors_origins=app.config["CORS_ORIGINS"],
        limits=leads_rate_limits(app.config),
    )
