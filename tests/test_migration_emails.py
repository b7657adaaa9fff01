"""Migration 0005 rewrites stored client emails into the canonical form, keeping
every account when two spellings of one mailbox collide."""

import logging

import pytest
from sqlalchemy import create_engine, text

from app.db import make_session_factory
from app.migrations import upgrade
from app.services.learning.clients import ClientError, create_client

# Rows as code before 0005 stored them: trimmed and lower-cased only.
OLD_ROWS = [
    # (id, email, created_at) -> expected email after the upgrade
    ("cl_dot", "trailing@x.com.", "2026-01-01 00:00:01", "trailing@x.com"),
    ("cl_wide", "ｗｉｄｅ@ｘ.com", "2026-01-01 00:00:02", "wide@x.com"),
    ("cl_idn", "иван@пример.рф", "2026-01-01 00:00:03", "иван@xn--e1afmkfd.xn--p1ai"),
    ("cl_plain", "plain@x.com", "2026-01-01 00:00:04", "plain@x.com"),
    # Two non-canonical spellings of one mailbox: the older one gets the form.
    ("cl_dup1", "dup@x.com.", "2026-01-01 00:00:05", "dup@x.com"),
    ("cl_dup2", "ｄｕｐ@x.com", "2026-01-01 00:00:06", "ｄｕｐ@x.com"),
    # The canonical form already stored (by a later account) stays its owner's.
    ("cl_old", "owner@y.com.", "2026-01-01 00:00:07", "owner@y.com."),
    ("cl_new", "owner@y.com", "2026-01-01 00:00:08", "owner@y.com"),
    # No canonical form at all: kept as it is.
    ("cl_hidden", "hid\u200bden@x.com", "2026-01-01 00:00:09", "hid\u200bden@x.com"),
    ("cl_baddomain", "bad@-x.com", "2026-01-01 00:00:10", "bad@-x.com"),
]


def test_emails_become_canonical_and_no_account_is_lost(database_url, caplog) -> None:
    engine = create_engine(database_url)
    try:
        upgrade(engine, "0004")
        with engine.begin() as connection:
            for client_id, email, created_at, _ in OLD_ROWS:
                connection.execute(
                    text(
                        "INSERT INTO clients (id, email, created_at, stated_profile) "
                        "VALUES (:id, :email, :created_at, '{}')"
                    ),
                    {"id": client_id, "email": email, "created_at": created_at},
                )
        with caplog.at_level(logging.WARNING, logger="conturs.migrations"):
            upgrade(engine)
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT id, email FROM clients")).all()
        stored = {client_id: email for client_id, email in rows}
        assert stored == {row[0]: row[3] for row in OLD_ROWS}
        logged = caplog.text
        for client_id in ("cl_dup2", "cl_old", "cl_hidden", "cl_baddomain"):
            assert f"client {client_id}:" in logged
        assert "cl_dup1" not in logged and "cl_plain" not in logged

        # The app now finds the rewritten accounts by any spelling.
        sessions = make_session_factory(engine)
        for spelling in ("Trailing@X.com", "ИВАН@ПРИМЕР.РФ", "wide@x.com."):
            with pytest.raises(ClientError, match="already exists"):
                create_client(sessions, spelling)
    finally:
        engine.dispose()
