"""`conturs accounts …` (installed CRM accounts: list, show, configure, check,
reconcile, disconnect, purge) and `conturs manifest hubspot|uspacy` (the
HubSpot developer project, the Uspacy app registration)."""

import importlib
import json
import sys
from pathlib import Path
from typing import Any

import click

from app.cli.context import _Context, pass_context
from app.services.crm.hubspot_app import HubSpotApp
from app.services.crm.uspacy_app import UspacyApp
from app.services.errors import DomainError

CRMS = click.Choice(["hubspot"])
# Commands every CRM app answers (list, show, disconnect, purge).
ANY_CRM = click.Choice(["hubspot", "uspacy"])


def _hubspot(ctx: _Context) -> HubSpotApp:
    hubspot = ctx.services.hubspot
    if hubspot is None:
        _fail(
            "the HubSpot app is not configured here (HUBSPOT_CLIENT_ID and "
            "HUBSPOT_CLIENT_SECRET, with the Config API's accounts local)"
        )
    return hubspot  # type: ignore[return-value]


def _crm_app(ctx: _Context, crm: str) -> HubSpotApp | UspacyApp:
    if crm == "hubspot":
        return _hubspot(ctx)
    uspacy = ctx.services.uspacy
    if uspacy is None:
        _fail(
            "the Uspacy app is not configured here (USPACY_CLIENT_ID and "
            "USPACY_CLIENT_SECRET, with the Config API's accounts local)"
        )
    return uspacy  # type: ignore[return-value]


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


@click.group()
def accounts() -> None:
    """Installed CRM accounts (HubSpot and Uspacy portals)."""


@accounts.command("list")
@click.option("--crm", type=ANY_CRM, default="hubspot", show_default=True)
@pass_context
def accounts_list(ctx: _Context, crm: str) -> None:
    """One JSON line per account."""
    app = _crm_app(ctx, crm)
    for account_id in app.account_ids():
        click.echo(json.dumps(app.describe(account_id)))


@accounts.command("show")
@click.option("--crm", type=ANY_CRM, required=True)
@click.option(
    "--account",
    "account_id",
    required=True,
    help="HubSpot: the hub id; Uspacy: the portal domain.",
)
@pass_context
def accounts_show(ctx: _Context, crm: str, account_id: str) -> None:
    """The account as JSON."""
    try:
        click.echo(json.dumps(_crm_app(ctx, crm).describe(account_id), indent=2))
    except DomainError as error:
        _fail(error.message)


@accounts.command("configure")
@click.option("--crm", type=ANY_CRM, required=True)
@click.option(
    "--account",
    "account_id",
    required=True,
    help="HubSpot: the hub id; Uspacy: the portal domain.",
)
@click.option("--industry", default=None)
@click.option("--company-size", default=None, help='e.g. "51-200".')
@click.option("--country", default=None)
@click.option("--icp-industry", "icp_industries", multiple=True)
@click.option("--icp-company-sizes", default=None)
@click.option(
    "--map",
    "mapping",
    multiple=True,
    metavar="FIELD=PROPERTY",
    help="Read a lead field from another CRM property (Uspacy: field code, for "
    "leads and contacts alike); FIELD= resets it.",
)
@click.option(
    "--stage",
    "stages",
    multiple=True,
    metavar="STAGE_ID=ACTION",
    help="What a deal (Uspacy: deal or lead) in this stage means: converted, "
    "ignored or none (STAGE_ID= gives the stage its own meaning back).",
)
@pass_context
def accounts_configure(
    ctx: _Context,
    crm: str,
    account_id: str,
    mapping: tuple[str, ...],
    stages: tuple[str, ...],
    **stated: Any,
) -> None:
    """State what the account's business is, so similar-client learning can start,
    where its lead fields are read from, and what its deal stages mean."""
    app = _crm_app(ctx, crm)
    if stages:
        _configure_stages(
            app,
            account_id,
            _pairs(stages, "STAGE_ID=converted|ignored|none", "--stage"),
        )
    if mapping:
        changes = _pairs(mapping, "FIELD=PROPERTY", "--map")
        try:
            current = app.set_mapping(account_id, changes)
        except DomainError as error:
            _fail(error.message)
        click.echo(json.dumps({"mapping": current, "rescoring": True}))
    changes = {key: value for key, value in stated.items() if value not in (None, ())}
    if not changes:
        return
    if "icp_industries" in changes:
        changes["icp_industries"] = list(changes["icp_industries"])
    config = ctx.services.accounts
    if config is None:
        _fail("profiles live in the Config API at CONFIG_API_URL")
    try:
        client_id = str(app.describe(account_id)["client_id"])
        view = config.update_profile(client_id, changes)  # type: ignore[union-attr]
    except DomainError as error:
        _fail(error.message)
    click.echo(json.dumps({**view.body, "refit_pending": view.refit_pending}))


def _pairs(items: tuple[str, ...], shape: str, option: str) -> dict[str, str | None]:
    """`KEY=VALUE` options as a dict; an empty value is None (back to default)."""
    split = [item.partition("=") for item in items]
    if any(not sep or not key.strip() for key, sep, _ in split):
        _fail(f"{option} takes {shape}")
    return {key.strip(): (value.strip() or None) for key, _, value in split}


def _configure_stages(
    app: HubSpotApp | UspacyApp, account_id: str, changes: dict[str, str | None]
) -> None:
    try:
        if isinstance(app, UspacyApp):
            overrides = app.set_stage_actions(account_id, changes)
        else:
            overrides = app.outcomes.set_stage_actions(
                app.account_pk(account_id), changes
            )
    except DomainError as error:
        _fail(error.message)
    click.echo(json.dumps({"stage_actions": overrides}))


@accounts.command("check-uninstalls")
@click.option("--crm", type=CRMS, default="hubspot", show_default=True)
@pass_context
def accounts_check_uninstalls(ctx: _Context, crm: str) -> None:
    """Ask the CRM which installs are gone (also run periodically by the worker)."""
    gone = _hubspot(ctx).check_uninstalls()
    click.echo(json.dumps({"uninstalled": gone}))


@accounts.command("reconcile")
@click.option("--crm", type=CRMS, required=True)
@click.option("--account", "account_id", required=True, help="HubSpot: the hub id.")
@pass_context
def accounts_reconcile(ctx: _Context, crm: str, account_id: str) -> None:
    """Read every contact again now and write the scores that are missing or
    stale (the worker does it daily, a few pages per task)."""
    try:
        started = _hubspot(ctx).reconcile(account_id)
    except DomainError as error:
        _fail(error.message)
    click.echo(
        json.dumps({"account": account_id, "reconciling": True, "started": started})
    )


@accounts.command("disconnect")
@click.option("--crm", type=ANY_CRM, required=True)
@click.option("--account", "account_id", required=True)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_context
def accounts_disconnect(ctx: _Context, crm: str, account_id: str, yes: bool) -> None:
    """Uninstall the app from the portal and delete all of its data now."""
    if not yes:
        click.confirm(
            f"Uninstall from {crm} account {account_id} and delete its data?",
            abort=True,
        )
    try:
        _crm_app(ctx, crm).disconnect(account_id)
    except DomainError as error:
        _fail(error.message)
    click.echo(json.dumps({"disconnected": account_id}))


@accounts.command("purge")
@click.option("--crm", type=ANY_CRM, default="hubspot", show_default=True)
@pass_context
def accounts_purge(ctx: _Context, crm: str) -> None:
    """Purge accounts uninstalled longer than UNINSTALL_PURGE_DAYS (also daily)."""
    app = _crm_app(ctx, crm)
    purged = app.purge_uninstalled(ctx.services.uninstall_purge_days)
    click.echo(json.dumps({"purged": purged}))


# The module that renders each CRM's app registration.
_MANIFESTS = {
    "hubspot": "app.crm.hubspot.manifest",
    "uspacy": "app.crm.uspacy.manifest",
}


@click.command("manifest")
@click.argument("crm", type=click.Choice(sorted(_MANIFESTS)))
@click.option("--base-url", required=True, help="e.g. https://conturs.example.com")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Default: manifest/<crm>/ in the working directory.",
)
def manifest(crm: str, base_url: str, out: Path | None) -> None:
    """Render a CRM's app registration for this deployment (HubSpot: the
    developer project; Uspacy: app.json to send to Uspacy)."""
    module = importlib.import_module(_MANIFESTS[crm])
    try:
        written = module.main_manifest(base_url, out or module.DEFAULT_OUT_DIR)
    except module.ManifestError as error:
        _fail(str(error))
    click.echo(json.dumps({"written": [str(path) for path in written]}))
