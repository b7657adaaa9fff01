"""The composition root: every service of one application, built once, in order.

`build_services` is the only place that decides which implementation serves a role
(local or remote Config API, which queue); entrypoints receive the finished,
typed container — the web layer through `services_of(app)`, tasks and the CLI
through the app they were built for — and never patch it afterwards.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import Flask
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from app.config_client import ConfigApiClient
from app.crm.hubspot.config import RATES as HUBSPOT_RATES
from app.crm.hubspot.config import HubSpotConfig
from app.crm.ratelimit import RateLimiter
from app.crm.uspacy.config import RATES as USPACY_RATES
from app.crm.uspacy.config import UspacyConfig
from app.crypto import SecretBox
from app.db import make_engine, make_session_factory
from app.mail import mailer_from_settings
from app.queue import JobQueue, make_huey
from app.services.crm.hubspot_app import HubSpotApp
from app.services.crm.hubspot_inbox import HubSpotInbox
from app.services.crm.install_states import InstallStates
from app.services.crm.outcomes import DealOutcomes
from app.services.crm.privacy import ContactRemovals
from app.services.crm.sync import RecordSync
from app.services.crm.uspacy_app import UspacyApp
from app.services.keys import LeadKeys
from app.services.learning.config import ConfigService
from app.services.learning.feedback import FeedbackRecorder, LocalFeedback
from app.services.learning.remote import FeedbackOutbox, RemoteFeedback
from app.services.scoring.configs import (
    ClientConfigCache,
    ConfigSource,
    LocalConfigSource,
)
from app.services.scoring.leads import LeadScoring
from app.services.scoring.recorder import ScoreRecorder
from app.services.scoring.remote_source import RemoteConfigSource

_EXTENSION = "conturs"


@dataclass(frozen=True)
class Services:
    """The application's services; `accounts` and `outbox` depend on the role."""

    engine: Engine
    sessions: sessionmaker[Session]
    secrets: SecretBox
    lead_keys: LeadKeys
    tasks: JobQueue
    configs: ClientConfigCache
    recorder: ScoreRecorder
    scoring: LeadScoring
    feedback: FeedbackRecorder
    # The Config API's accounts live here unless CONFIG_API_URL names another one.
    accounts: ConfigService | None
    # Feedback waiting for the remote Config API (remote mode only).
    outbox: FeedbackOutbox | None
    # The HubSpot app, where HUBSPOT_CLIENT_ID and _SECRET are set and the Config
    # API's accounts live here (each portal is one of its clients).
    hubspot: HubSpotApp | None
    # Where HubSpot's webhook events are stored (with `hubspot`).
    hubspot_inbox: HubSpotInbox | None
    # The Uspacy app, where USPACY_CLIENT_ID and _SECRET are set and the Config
    # API's accounts live here.
    uspacy: UspacyApp | None
    score_history_days: int
    uninstall_purge_days: int
    crm_event_days: int
    uninstall_check_minutes: int

    def start_background(self) -> None:
        """Start this process's background writers (after any fork)."""
        self.recorder.start()

    def stop_background(self) -> None:
        """Stop them, writing what is pending."""
        self.recorder.stop()


def build_services(settings: Mapping[str, Any], instance_path: str) -> Services:
    """Build every service from settings; connects to nothing yet (engines are lazy)."""
    tasks = JobQueue(make_huey(settings, instance_path))
    engine = make_engine(settings["DATABASE_URL"], settings["STORE_TIMEOUT_SECONDS"])
    sessions = make_session_factory(engine)
    secrets = SecretBox(settings["TOKEN_ENCRYPTION_KEYS"])
    lead_keys = LeadKeys(settings["SECRET_KEY"])
    remote_url = settings["CONFIG_API_URL"]
    source: ConfigSource
    feedback: FeedbackRecorder
    if remote_url:
        api = ConfigApiClient(remote_url)
        source = RemoteConfigSource(api, sessions)
        outbox: FeedbackOutbox | None = FeedbackOutbox(api, sessions, secrets)
        feedback = RemoteFeedback(outbox, sessions)
        accounts = None
    else:
        source = LocalConfigSource(sessions)
        outbox = None
        feedback = LocalFeedback(sessions, tasks)
        accounts = ConfigService(
            sessions,
            tasks,
            settings["OPEN_REGISTRATION"],
            mailer_from_settings(settings),  # None unless EMAIL_VERIFICATION is on
        )
    configs = ClientConfigCache(source, settings["WEIGHTS_CACHE_TTL_SECONDS"])
    recorder = ScoreRecorder(sessions, lead_keys)
    hubspot = hubspot_inbox = None
    if accounts is not None and settings["HUBSPOT_CLIENT_ID"]:
        states = InstallStates(sessions, settings["SECRET_KEY"])
        hubspot = HubSpotApp(
            sessions,
            secrets,
            _hubspot_config(settings),
            states,
            RecordSync(sessions, lead_keys, feedback=feedback),
            tasks,
            # One budget per portal, shared by every process through Redis.
            RateLimiter(HUBSPOT_RATES, redis_url=settings["REDIS_URL"] or None),
            removals=ContactRemovals(sessions, lead_keys, feedback),
            outcomes=DealOutcomes(sessions, lead_keys, feedback),
        )
        hubspot_inbox = HubSpotInbox(
            sessions, tasks, settings["HUBSPOT_APP_ID"] or None
        )
    uspacy = None
    if accounts is not None and settings["USPACY_CLIENT_ID"]:
        uspacy = UspacyApp(
            sessions,
            secrets,
            _uspacy_config(settings),
            RecordSync(sessions, lead_keys, feedback=feedback),
            tasks,
            # One budget per portal, shared by every process through Redis.
            RateLimiter(USPACY_RATES, redis_url=settings["REDIS_URL"] or None),
            outcomes=DealOutcomes(sessions, lead_keys, feedback),
            public_base_url=public_base_url(settings),
        )
    return Services(
        engine=engine,
        sessions=sessions,
        secrets=secrets,
        lead_keys=lead_keys,
        tasks=tasks,
        configs=configs,
        recorder=recorder,
        scoring=LeadScoring(configs, recorder),
        feedback=feedback,
        accounts=accounts,
        outbox=outbox,
        hubspot=hubspot,
        hubspot_inbox=hubspot_inbox,
        uspacy=uspacy,
        score_history_days=settings["SCORE_HISTORY_DAYS"],
        uninstall_purge_days=settings["UNINSTALL_PURGE_DAYS"],
        crm_event_days=settings["CRM_EVENT_DAYS"],
        uninstall_check_minutes=settings["UNINSTALL_CHECK_MINUTES"],
    )


def public_base_url(settings: Mapping[str, Any]) -> str:
    """Where the CRMs and browsers reach this service (PUBLIC_BASE_URL, or the
    local port for development)."""
    configured = settings["PUBLIC_BASE_URL"].rstrip("/")
    return configured or f"http://localhost:{settings['PORT']}"


def _hubspot_config(settings: Mapping[str, Any]) -> HubSpotConfig:
    return HubSpotConfig(
        client_id=settings["HUBSPOT_CLIENT_ID"],
        client_secret=settings["HUBSPOT_CLIENT_SECRET"],
        redirect_uri=public_base_url(settings) + "/hubspot/oauth/callback",
        api_base_url=settings["HUBSPOT_API_BASE_URL"],
        authorize_url=settings["HUBSPOT_AUTHORIZE_URL"],
        app_id=settings["HUBSPOT_APP_ID"] or None,
    )


def _uspacy_config(settings: Mapping[str, Any]) -> UspacyConfig:
    return UspacyConfig(
        client_id=settings["USPACY_CLIENT_ID"],
        client_secret=settings["USPACY_CLIENT_SECRET"],
        base_url_template=settings["USPACY_BASE_URL_TEMPLATE"],
    )


def attach(app: Flask, services: Services) -> None:
    """Make the container reachable from the app it was built for."""
    app.extensions[_EXTENSION] = services


def services_of(app: Flask) -> Services:
    """The container of an app built by `create_app`."""
    return app.extensions[_EXTENSION]
