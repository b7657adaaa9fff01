"""Keys and hashing: API keys (shown once, stored as digests) and lead keys (the
keyed hashes under which leads are known, so no lead id is ever stored in clear).

API leads are keyed by the HMAC of their email, CRM records by the HMAC of
`crm:account:object type:record id`; both use one key derived from SECRET_KEY.
"""

import hashlib
import hmac
import secrets

API_KEY_PREFIX = "ck_"


def new_api_key() -> str:
    """A fresh random key: 256 bits of entropy behind a recognisable prefix."""
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


def hash_api_key(api_key: str) -> str:
    """The digest under which a key is stored and looked up (keys are random, so an
    unsalted SHA-256 cannot be brute-forced)."""
    return hashlib.sha256(api_key.encode("utf-8", "surrogatepass")).hexdigest()


def normalise_email(email: str) -> str:
    """Emails identify clients and leads case-insensitively."""
    return email.strip().lower()


class LeadKeys:
    """Derives lead keys with this deployment's secret."""

    def __init__(self, secret: str) -> None:
        self._key = hashlib.sha256(b"conturs-lead-key:" + secret.encode()).digest()

    def for_lead_id(self, lead_id: str) -> str:
        """The key of an API lead (its email, or the id an integrator reports)."""
        normalised = normalise_email(lead_id).encode("utf-8", "surrogatepass")
        return hmac.new(self._key, normalised, hashlib.sha256).hexdigest()

    def for_crm_record(
        self, crm: str, account: str, object_type: str, record_id: str
    ) -> str:
        """The key of a CRM record; ids are kept exact, as the CRM issues them."""
        name = f"{crm}:{account}:{object_type}:{record_id}"
        return hmac.new(
            self._key, name.encode("utf-8", "surrogatepass"), hashlib.sha256
        ).hexdigest()
