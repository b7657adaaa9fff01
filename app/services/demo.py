"""The demo client of the embedded default: a random key, kept in the instance folder
so every local start can show it (a well-known demo key would be a security hole)."""

import json
import os
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.models import Client
from app.services.learning.clients import add_api_key, create_client

DEMO_EMAIL = "demo@conturs.local"


def ensure_demo_client(sessions: sessionmaker[Session], instance_path: str) -> dict:
    """Create the demo client on first start; return its email, id and API key."""
    path = Path(instance_path) / "demo-client.json"
    if path.exists():
        saved = json.loads(path.read_text())
        with sessions() as session:
            if session.get(Client, saved["client_id"]) is not None:
                return saved
    with sessions.begin() as session:
        client = session.scalar(select(Client).where(Client.email == DEMO_EMAIL))
        if client is not None:  # the key file was lost: issue a fresh key
            demo = {
                "client_id": client.id,
                "email": DEMO_EMAIL,
                "api_key": add_api_key(session, client),
            }
    if client is None:
        issued = create_client(sessions, DEMO_EMAIL)
        demo = {
            "client_id": issued.client_id,
            "email": DEMO_EMAIL,
            "api_key": issued.api_key,
        }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(demo, handle)
    return demo
