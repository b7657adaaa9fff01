"""Access to the running `HubSpotSandbox` from inside request handlers."""

from typing import TYPE_CHECKING

from flask import current_app

if TYPE_CHECKING:
    from app.sandbox.hubspot.sandbox import HubSpotSandbox


def sandbox() -> "HubSpotSandbox":
    """The sandbox that owns the current Flask app."""
    return current_app.extensions["hubspot_sandbox"]
