"""Access to the running `UspacySandbox` and the calling portal from handlers."""

from typing import TYPE_CHECKING

from flask import current_app, g

if TYPE_CHECKING:
    from app.sandbox.uspacy.sandbox import UspacySandbox
    from app.sandbox.uspacy.store import Portal


def sandbox() -> "UspacySandbox":
    """The sandbox that owns the current Flask app."""
    return current_app.extensions["uspacy_sandbox"]


def portal() -> "Portal":
    """The portal the Bearer token belongs to (set by the guard)."""
    return g.portal
