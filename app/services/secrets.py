"""Secrets at rest: re-encrypting every stored secret under the current key
(`conturs keys rotate`), so an old key can be retired from TOKEN_ENCRYPTION_KEYS.

Stored secrets today: the sealed API keys of the feedback outbox. Every new kind of
secret (CRM tokens next) is added to `rotate_secrets`.
"""

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.crypto import SecretBox
from app.models import OutboxMessage

_BATCH = 500


def rotate_secrets(sessions: sessionmaker[Session], box: SecretBox) -> dict[str, int]:
    """Re-encrypt stored secrets under the first key; seal any left in clear.

    Raises SecretUnreadableError, changing nothing in that batch, when a secret
    opens with none of the configured keys (the old key must stay listed).
    """
    counts = {"outbox_credentials": 0}
    last_id = 0
    while True:
        with sessions.begin() as session:
            messages = session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.id > last_id)
                .order_by(OutboxMessage.id)
                .limit(_BATCH)
            ).all()
            if not messages:
                return counts
            for message in messages:
                if message.credential is not None:
                    message.credential = box.rotate(message.credential)
                elif "api_key" in message.payload:  # written before sealing existed
                    payload = dict(message.payload)
                    message.credential = box.encrypt(str(payload.pop("api_key")))
                    message.payload = payload
                else:
                    continue
                counts["outbox_credentials"] += 1
            last_id = messages[-1].id
