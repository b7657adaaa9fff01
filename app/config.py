"""Settings: the one place the environment is read, once, inside the app factory."""

import os
import secrets
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from app.crypto import SecretBox, SecretKeyError, generate_key, parse_keys

# name -> (default, parser); the README's environment table mirrors this.
_INT_SETTINGS = {
    "PORT": 8082,
    "MAX_LEADS_PER_REQUEST": 10_000,
    "MAX_BODY_BYTES": 16 * 1024 * 1024,
    "WEIGHTS_CACHE_TTL_SECONDS": 300,
    # How long score history rows are kept before they are purged.
    "SCORE_HISTORY_DAYS": 400,
    # An uninstalled CRM account's data is purged this long after the uninstall;
    # a reinstall before then resumes with its learned weights.
    "UNINSTALL_PURGE_DAYS": 30,
    # How long an applied CRM webhook event stays in the inbox (it names a
    # record; kept so that HubSpot's redeliveries of it are recognised).
    "CRM_EVENT_DAYS": 7,
    # How often installed CRM accounts are checked for an uninstall made in the
    # CRM (HubSpot sends no event for it).
    "UNINSTALL_CHECK_MINUTES": 60,
}
_STR_SETTINGS = {
    "DATABASE_URL": "",
    "REDIS_URL": "",
    "SECRET_KEY": "",
    "TOKEN_ENCRYPTION_KEYS": "",
    "PUBLIC_BASE_URL": "",
    "CONFIG_API_URL": "",
    # Email verification's SMTP server (smtp://user:pass@host:587?starttls=1) and
    # the sender of its mail; both needed when EMAIL_VERIFICATION is on.
    "MAIL_URL": "",
    "MAIL_FROM": "",
    "HUBSPOT_CLIENT_ID": "",
    "HUBSPOT_CLIENT_SECRET": "",
    "HUBSPOT_APP_ID": "",
    "HUBSPOT_API_BASE_URL": "https://api.hubapi.com",
    "HUBSPOT_AUTHORIZE_URL": "https://app.hubspot.com/oauth/authorize",
    "USPACY_CLIENT_ID": "",
    "USPACY_CLIENT_SECRET": "",
    "USPACY_BASE_URL_TEMPLATE": "https://{domain}",
    "CORS_ORIGINS": "https://conturs.com https://www.conturs.com https://app.conturs.com",
    # Rate limits in the `limits` notation ("20/minute"); /leads counts per process.
    "LEADS_RATE_LIMIT": "10000/second",
    "AUTH_FAILURE_RATE_LIMIT": "20/minute",
    "REGISTRATION_RATE_LIMIT": "10/hour",
    "CONFIG_RATE_LIMIT": "300/minute",
    "FEEDBACK_RATE_LIMIT": "1200/minute",
    # Proxies whose X-Forwarded-For names the caller (IPs, comma-separated, or "*").
    "FORWARDED_ALLOW_IPS": "",
}

_SECRET_KEY_HINT = (
    'generate one with: python -c "import secrets; print(secrets.token_urlsafe(48))"'
)
_FERNET_KEY_HINT = (
    "generate one with: python -c "
    '"from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
)


def instance_path(overrides: Mapping[str, Any] | None = None) -> str | None:
    """Where the embedded database and local secrets live (default: ./instance)."""
    chosen = (overrides or {}).get("INSTANCE_PATH") or os.environ.get("INSTANCE_PATH")
    return str(Path(chosen).resolve()) if chosen else None


def load_settings(
    instance_path: str, overrides: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Merge defaults, the environment and explicit overrides (tests) into settings."""
    overrides = dict(overrides or {})
    settings: dict[str, Any] = {}
    for name, default in _STR_SETTINGS.items():
        settings[name] = os.environ.get(name, default) or default
    for name, default in _INT_SETTINGS.items():
        raw = os.environ.get(name)
        try:
            settings[name] = int(raw) if raw else default
        except ValueError:
            raise ValueError(f"{name} must be an integer, got {raw!r}") from None
    # Seconds any one call to the database or Redis may wait (connect, statement,
    # lock, pool); a hung store then costs a request this long, not a worker.
    settings["STORE_TIMEOUT_SECONDS"] = _store_timeout(
        os.environ.get("STORE_TIMEOUT_SECONDS")
    )
    settings["CORS_ORIGINS"] = settings["CORS_ORIGINS"].split()
    settings["OPEN_REGISTRATION"] = os.environ.get(
        "OPEN_REGISTRATION", "true"
    ).strip().lower() not in {"0", "false", "no", "off"}
    # Off by default: registration answers with the key, as the seed's service does.
    settings["EMAIL_VERIFICATION"] = os.environ.get(
        "EMAIL_VERIFICATION", "false"
    ).strip().lower() in {"1", "true", "yes", "on"}
    settings["RATE_LIMITS_ENABLED"] = os.environ.get(
        "RATE_LIMITS_ENABLED", "true"
    ).strip().lower() not in {"0", "false", "no", "off"}
    settings["JOBS_IMMEDIATE"] = False
    settings.update(overrides)
    if not settings["DATABASE_URL"]:
        # Owner-only: it holds the embedded database and generated secrets.
        Path(instance_path).mkdir(mode=0o700, parents=True, exist_ok=True)
        db_file = Path(instance_path) / "conturs.db"
        settings["DATABASE_URL"] = f"sqlite:///{db_file}"
    settings["EMBEDDED"] = settings["DATABASE_URL"].startswith("sqlite")
    if not settings["SECRET_KEY"]:
        settings["SECRET_KEY"] = _instance_secret(instance_path, settings["EMBEDDED"])
    settings["TOKEN_ENCRYPTION_KEYS"] = _token_encryption_keys(
        settings["TOKEN_ENCRYPTION_KEYS"], instance_path, settings["EMBEDDED"]
    )
    return settings


def _store_timeout(raw: str | None) -> float:
    """STORE_TIMEOUT_SECONDS: a positive number of seconds (default 1.5)."""
    if not raw:
        return 1.5
    try:
        seconds = float(raw)
    except ValueError:
        seconds = 0.0
    if not 0 < seconds < 86_400:
        raise ValueError(
            f"STORE_TIMEOUT_SECONDS must be a positive number of seconds, got {raw!r}"
        )
    return seconds


def _instance_secret(instance_path: str, embedded: bool) -> str:
    """A per-installation secret for the embedded default; production must set one."""
    if not embedded:
        raise RuntimeError(
            "SECRET_KEY must be set when DATABASE_URL is not SQLite "
            f"(the session and signing secret); {_SECRET_KEY_HINT}"
        )
    return _instance_file(
        instance_path, "secret_key", lambda: secrets.token_urlsafe(48)
    )


def _token_encryption_keys(
    configured: str | Sequence[str], instance_path: str, embedded: bool
) -> list[str]:
    """Parsed, validated Fernet keys (current first); embedded installs get one."""
    # Overrides may pass a ready list; the environment always gives the str format.
    keys = parse_keys(configured) if isinstance(configured, str) else list(configured)
    source = "TOKEN_ENCRYPTION_KEYS"
    if not keys:
        if not embedded:
            raise RuntimeError(
                "TOKEN_ENCRYPTION_KEYS must be set when DATABASE_URL is not SQLite "
                "(it encrypts CRM tokens at rest; comma-separated, newest first); "
                f"{_FERNET_KEY_HINT}"
            )
        keys = [_instance_file(instance_path, "token_encryption_key", generate_key)]
        source = str(Path(instance_path) / "token_encryption_key")
    try:
        SecretBox(keys)
    except SecretKeyError as error:
        # The message names the key's position only, never its content.
        raise RuntimeError(f"{source}: {error}; {_FERNET_KEY_HINT}") from None
    return keys


def _instance_file(instance_path: str, name: str, make: Callable[[], str]) -> str:
    """Read a generated secret from the instance dir, creating it (0600) once."""
    path = Path(instance_path) / name
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    value = make()
    # Create with owner-only permissions so the secret is never world-readable.
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        # Another process starting at the same moment won; share its secret.
        return path.read_text().strip()
    with os.fdopen(descriptor, "w") as handle:
        handle.write(value)
    path.chmod(0o600)
    return value
