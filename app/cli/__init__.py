"""The `conturs` command: serve, db upgrade, clients create, and the other tools."""

import json
import sys

import click

from app.cli.context import _Context, pass_context
from app.services.errors import DomainError
from app.services.learning.clients import ClientError, create_client


@click.group()
def main() -> None:
    """Conturs lead scoring."""


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
@pass_context
def db_upgrade(ctx: _Context, revision: str) -> None:
    """Apply migrations up to REVISION."""
    from app.migrations import upgrade

    upgrade(ctx.services.engine, revision)
    click.echo(f"database at {revision}", err=True)


@main.group()
def clients() -> None:
    """Scoring API clients and their keys."""


@clients.command("create")
@click.option("--email", required=True, help="The client's account email.")
@click.option(
    "--weights",
    default=None,
    help='Pinned weights as JSON, e.g. {"lead_status": 0.5, ...}',
)
@pass_context
def clients_create(ctx: _Context, email: str, weights: str | None) -> None:
    """Register a client and print its id and API key (shown only this once)."""
    pinned = None
    if weights is not None:
        try:
            pinned = json.loads(weights)
        except json.JSONDecodeError as error:
            raise click.BadParameter(
                f"not JSON: {error}", param_hint="--weights"
            ) from None
    try:
        issued = create_client(ctx.services.sessions, email, pinned)
    except ClientError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(1)
    click.echo(json.dumps({"client_id": issued.client_id, "api_key": issued.api_key}))


@clients.command("profile")
@click.argument("client_id")
@click.option("--industry", default=None, help="Free text or a HubSpot industry value.")
@click.option("--company-size", default=None, help="e.g. 51-200, 1000+ or 40.")
@click.option("--country", default=None, help="ISO code or name, e.g. DE.")
@click.option(
    "--icp-industry",
    "icp_industries",
    multiple=True,
    help="An industry of the ideal customer (repeatable).",
)
@click.option("--icp-company-sizes", default=None, help="e.g. 50-500.")
@pass_context
def clients_profile(ctx: _Context, client_id: str, **stated: object) -> None:
    """State a client's profile (given options only) and print its new weights."""
    changes = {k: v for k, v in stated.items() if v not in (None, ())}
    if "icp_industries" in changes:
        changes["icp_industries"] = list(changes["icp_industries"])  # type: ignore[arg-type]
    accounts = ctx.services.accounts
    if accounts is None:
        click.echo("error: profiles live in the Config API at CONFIG_API_URL", err=True)
        sys.exit(1)
    try:
        view = accounts.update_profile(client_id, changes)
    except DomainError as error:
        click.echo(f"error: {error.message}", err=True)
        sys.exit(1)
    click.echo(json.dumps({**view.body, "refit_pending": view.refit_pending}))


@clients.command("rotate-key")
@click.argument("client_id")
@click.option(
    "--grace-seconds",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="How long the old keys keep working, to roll the new one out.",
)
@pass_context
def clients_rotate_key(ctx: _Context, client_id: str, grace_seconds: int) -> None:
    """Issue a new API key (printed only this once) and revoke the old ones."""
    from app.services.learning.clients import rotate_api_key

    try:
        rotated = rotate_api_key(ctx.services.sessions, client_id, grace_seconds)
    except DomainError as error:
        click.echo(f"error: {error.message}", err=True)
        sys.exit(1)
    ctx.services.configs.invalidate()
    click.echo(
        json.dumps(
            {
                "client_id": rotated.client_id,
                "api_key": rotated.api_key,
                "prefix": rotated.prefix,
                "revoked_prefixes": rotated.old_prefixes,
                "old_keys_end_at": rotated.old_keys_end_at.isoformat(),
            }
        )
    )


@clients.command("revoke-key")
@click.argument("client_id")
@click.option("--prefix", default=None, help="The key's stored prefix (ck_ + 7).")
@click.option("--all", "revoke_all", is_flag=True, help="Revoke every key.")
@pass_context
def clients_revoke_key(
    ctx: _Context, client_id: str, prefix: str | None, revoke_all: bool
) -> None:
    """Revoke a client's key by its prefix (or all its keys) at once."""
    from app.services.learning.clients import revoke_api_keys

    if bool(prefix) == revoke_all:
        raise click.UsageError("give exactly one of --prefix ck_… or --all")
    try:
        revoked = revoke_api_keys(ctx.services.sessions, client_id, prefix)
    except DomainError as error:
        click.echo(f"error: {error.message}", err=True)
        sys.exit(1)
    ctx.services.configs.invalidate()
    click.echo(json.dumps({"client_id": client_id, "revoked_prefixes": revoked}))


@clients.command("keys")
@click.argument("client_id")
@pass_context
def clients_keys(ctx: _Context, client_id: str) -> None:
    """List a client's keys by prefix, one JSON line each (never the keys)."""
    from app.services.learning.clients import list_api_keys

    try:
        keys = list_api_keys(ctx.services.sessions, client_id)
    except DomainError as error:
        click.echo(f"error: {error.message}", err=True)
        sys.exit(1)
    for key in keys:
        revoked = key.revoked_at.isoformat() if key.revoked_at else None
        click.echo(
            json.dumps(
                {
                    "prefix": key.prefix,
                    "created_at": key.created_at.isoformat(),
                    "revoked_at": revoked,
                }
            )
        )


@main.group()
def weights() -> None:
    """Personalised weights."""


@weights.command("refit")
@click.option("--client", "client_id", default=None, help="Refit one client.")
@click.option("--all", "refit_all", is_flag=True, help="Refit every client.")
@pass_context
def weights_refit(ctx: _Context, client_id: str | None, refit_all: bool) -> None:
    """Refit weights now and print each client's current version as JSON."""
    from app.services.learning.weights import refit_clients

    if bool(client_id) == refit_all:
        raise click.UsageError("give exactly one of --client ID or --all")
    published = refit_clients(ctx.services.sessions, [client_id] if client_id else None)
    if client_id and not published:
        click.echo(f"error: no client {client_id}", err=True)
        sys.exit(1)
    for item in published:
        click.echo(
            json.dumps(
                {
                    "client_id": item.client_id,
                    "version": item.version,
                    "method": item.method,
                    "personalised": item.personalised,
                    "weights": item.weights,
                }
            )
        )


@main.group()
def keys() -> None:
    """Encryption keys of secrets at rest (TOKEN_ENCRYPTION_KEYS)."""


@keys.command("rotate")
@pass_context
def keys_rotate(ctx: _Context) -> None:
    """Re-encrypt every stored secret under the first key of TOKEN_ENCRYPTION_KEYS.

    Put the new key first and keep the old ones listed, run this, then drop them.
    """
    from app.crypto import SecretUnreadableError
    from app.services.secrets import rotate_secrets

    try:
        counts = rotate_secrets(ctx.services.sessions, ctx.services.secrets)
    except SecretUnreadableError:
        click.echo(
            "error: a stored secret opens with none of TOKEN_ENCRYPTION_KEYS; "
            "list the key it was sealed with after the new one",
            err=True,
        )
        sys.exit(1)
    click.echo(json.dumps({"re_encrypted": counts}))


@main.command("worker")
@click.option("--workers", type=int, default=2, show_default=True)
@pass_context
def worker(ctx: _Context, workers: int) -> None:
    """Run the background job consumer (refits, feedback delivery)."""
    huey = ctx.services.tasks.huey
    # Huey's SQLite queue is polled; its default back-off lets an idle worker
    # sleep 10 s, which would be most of a webhook's edit-to-score time.
    huey.create_consumer(
        workers=workers, worker_type="thread", periodic=True, max_delay=1.0
    ).run()


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=None, help="Default: $PORT or 8082.")
@click.option("--workers", type=int, default=2, show_default=True)
@pass_context
def serve(ctx: _Context, host: str, port: int | None, workers: int) -> None:
    """Run the service under gunicorn in the foreground."""
    from app.server import run_server

    run_server(ctx.app, host, port or ctx.app.config["PORT"], workers)


from app.cli.accounts import accounts as _accounts_command  # noqa: E402
from app.cli.accounts import manifest as _manifest_command  # noqa: E402
from app.cli.clients_bands import clients_bands as _bands_command  # noqa: E402
from app.cli.demo import demo as _demo_command  # noqa: E402
from app.sandbox.cli import sandbox as _sandbox_command  # noqa: E402

clients.add_command(_bands_command)
main.add_command(_accounts_command)
main.add_command(_manifest_command)
main.add_command(_demo_command)
main.add_command(_sandbox_command)
