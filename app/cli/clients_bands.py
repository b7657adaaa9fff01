"""`conturs clients bands`: pin a client's label thresholds, or unpin them."""

import json
import sys

import click

from app.cli.context import _Context, pass_context
from app.personalization.bands import bands_to_json
from app.scoring import LabelBands
from app.services.errors import DomainError

_THRESHOLD = click.IntRange(1, 100)


@click.command("bands")
@click.argument("client_id")
@click.option("--hot", type=_THRESHOLD, default=None, help="Lowest Hot score.")
@click.option("--warm", type=_THRESHOLD, default=None, help="Lowest Warm score.")
@click.option("--cool", type=_THRESHOLD, default=None, help="Lowest Cool score.")
@click.option("--unpin", is_flag=True, help="Serve the learned (or seed) bands again.")
@pass_context
def clients_bands(
    ctx: _Context,
    client_id: str,
    hot: int | None,
    warm: int | None,
    cool: int | None,
    unpin: bool,
) -> None:
    """Pin the Hot/Warm/Cool thresholds of a client (they win over learned ones),
    or --unpin them; print the bands it is served now."""
    from app.services.learning.bands import pin_bands

    given = [value for value in (hot, warm, cool) if value is not None]
    if unpin == bool(given) or len(given) not in (0, 3):
        raise click.UsageError("give --hot, --warm and --cool together, or --unpin")
    if ctx.services.accounts is None:
        click.echo("error: clients live in the Config API at CONFIG_API_URL", err=True)
        sys.exit(1)
    try:
        bands = None if unpin else LabelBands(hot=hot, warm=warm, cool=cool)  # type: ignore[arg-type]
    except ValueError as error:
        raise click.BadParameter(str(error)) from None
    try:
        served = pin_bands(ctx.services.sessions, client_id, bands)
    except DomainError as error:
        click.echo(f"error: {error.message}", err=True)
        sys.exit(1)
    ctx.services.configs.invalidate()
    click.echo(
        json.dumps(
            {
                "client_id": client_id,
                "pinned": not unpin,
                "bands": bands_to_json(served),
            }
        )
    )
