"""SQLAlchemy 2.0 typed models. Models never commit and never call out over HTTP."""

from app.models.base import Base
from app.models.client import ApiKey, Client

__all__ = ["ApiKey", "Base", "Client"]
