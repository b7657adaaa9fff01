"""`conturs sandbox`: both emulations as one standalone process on loopback,
seeded with a demo account, for local development and the demo."""

import json
import signal
import threading

import click

from app.sandbox.hubspot.appconfig import DEFAULT_REDIRECT_URL, AppConfig
from app.sandbox.hubspot.sandbox import HubSpotSandbox
from app.sandbox.uspacy.sandbox import UspacySandbox

DEMO_HUB_ID = 20260001
DEMO_USPACY_DOMAIN = "demo.uspacy.ua"


@click.command("sandbox")
@click.option(
    "--hubspot-port",
    type=int,
    default=0,
    show_default=True,
    help="Loopback port of the HubSpot emulation (0 = any free port).",
)
@click.option(
    "--uspacy-port",
    type=int,
    default=0,
    show_default=True,
    help="Loopback port of the Uspacy emulation (0 = any free port).",
)
@click.option(
    "--uspacy-callback-url",
    default=None,
    help="The app's Uspacy callback_url, for install/uninstall calls.",
)
@click.option(
    "--contacts",
    type=int,
    default=300,
    show_default=True,
    help="Demo contacts in the HubSpot account.",
)
@click.option(
    "--deals",
    type=int,
    default=120,
    show_default=True,
    help="Demo deals in the HubSpot account.",
)
@click.option(
    "--hubspot-redirect-url",
    "redirect_urls",
    multiple=True,
    help="A redirect URL of the HubSpot app: https, or http://localhost "
    f"(repeatable; default {DEFAULT_REDIRECT_URL}).",
)
def sandbox(
    hubspot_port: int,
    uspacy_port: int,
    uspacy_callback_url: str | None,
    contacts: int,
    deals: int,
    redirect_urls: tuple[str, ...],
) -> None:
    """Run emulated HubSpot and Uspacy until interrupted; print one JSON line."""
    try:
        app_config = AppConfig(
            redirect_urls=list(redirect_urls or [DEFAULT_REDIRECT_URL])
        )
    except ValueError as bad:
        raise click.BadParameter(
            str(bad), param_hint="--hubspot-redirect-url"
        ) from None
    hubspot = HubSpotSandbox(app_config=app_config)
    uspacy = UspacySandbox(callback_url=uspacy_callback_url)
    hubspot.seed(DEMO_HUB_ID, contacts, deals)
    uspacy.seed(DEMO_USPACY_DOMAIN)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    try:
        hubspot_url = hubspot.start(hubspot_port)
        uspacy_url = uspacy.start(uspacy_port)
        click.echo(
            json.dumps(
                {
                    "hubspot": {
                        "base_url": hubspot_url,
                        "authorize_url": f"{hubspot_url}/oauth/authorize",
                        "client_id": hubspot.app_config.client_id,
                        "client_secret": hubspot.app_config.client_secret,
                        "app_id": hubspot.app_config.app_id,
                        "redirect_urls": hubspot.app_config.redirect_urls,
                        "demo_hub_id": DEMO_HUB_ID,
                    },
                    "uspacy": {
                        "base_url": uspacy_url,
                        # USPACY_BASE_URL_TEMPLATE: each portal has its own.
                        "base_url_template": uspacy.base_url_template,
                        "client_id": uspacy.client_id,
                        "client_secret": uspacy.client_secret,
                        "app_code": uspacy.app_code,
                        "demo_domain": DEMO_USPACY_DOMAIN,
                    },
                }
            ),
            nl=True,
        )
        click.get_text_stream("stdout").flush()
        stop.wait()
    finally:
        hubspot.stop()
        uspacy.stop()
