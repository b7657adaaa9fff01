"""load_settings: token encryption keys, SECRET_KEY and score history retention."""

import stat
from pathlib import Path

import pytest

from app.config import load_settings
from app.crypto import SecretBox, generate_key

POSTGRES_URL = "postgresql+psycopg://x/y"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings come only from what each test sets, not the developer's shell."""
    for name in (
        "TOKEN_ENCRYPTION_KEYS",
        "SECRET_KEY",
        "DATABASE_URL",
        "SCORE_HISTORY_DAYS",
        "INSTANCE_PATH",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def instance(tmp_path: Path) -> Path:
    return tmp_path / "instance"


def test_embedded_generates_a_private_key_once_and_reuses_it(instance: Path) -> None:
    first = load_settings(str(instance))
    assert first["EMBEDDED"]
    keys = first["TOKEN_ENCRYPTION_KEYS"]
    assert isinstance(keys, list) and len(keys) == 1
    stored = instance / "token_encryption_key"
    assert stored.read_text() == keys[0]
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    SecretBox(keys)
    second = load_settings(str(instance))
    assert second["TOKEN_ENCRYPTION_KEYS"] == keys


def test_embedded_secret_key_file_is_private_too(instance: Path) -> None:
    settings = load_settings(str(instance))
    stored = instance / "secret_key"
    assert stored.read_text() == settings["SECRET_KEY"]
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert load_settings(str(instance))["SECRET_KEY"] == settings["SECRET_KEY"]


def test_environment_keys_are_parsed_current_first(
    monkeypatch: pytest.MonkeyPatch, instance: Path
) -> None:
    current, previous = generate_key(), generate_key()
    monkeypatch.setenv("TOKEN_ENCRYPTION_KEYS", f" {current},\n{previous} ")
    settings = load_settings(str(instance))
    assert settings["TOKEN_ENCRYPTION_KEYS"] == [current, previous]
    assert not (instance / "token_encryption_key").exists()


def test_production_without_token_keys_refuses_to_start(
    monkeypatch: pytest.MonkeyPatch, instance: Path
) -> None:
    monkeypatch.setenv("DATABASE_URL", POSTGRES_URL)
    monkeypatch.setenv("SECRET_KEY", "production-secret")
    with pytest.raises(RuntimeError, match="TOKEN_ENCRYPTION_KEYS") as caught:
        load_settings(str(instance))
    assert "Fernet.generate_key()" in str(caught.value)
    assert not (instance / "token_encryption_key").exists()


def test_production_with_token_keys_starts(
    monkeypatch: pytest.MonkeyPatch, instance: Path
) -> None:
    key = generate_key()
    monkeypatch.setenv("DATABASE_URL", POSTGRES_URL)
    monkeypatch.setenv("SECRET_KEY", "production-secret")
    monkeypatch.setenv("TOKEN_ENCRYPTION_KEYS", key)
    settings = load_settings(str(instance))
    assert not settings["EMBEDDED"]
    assert settings["TOKEN_ENCRYPTION_KEYS"] == [key]


def test_production_without_secret_key_says_what_to_set(
    monkeypatch: pytest.MonkeyPatch, instance: Path
) -> None:
    monkeypatch.setenv("DATABASE_URL", POSTGRES_URL)
    monkeypatch.setenv("TOKEN_ENCRYPTION_KEYS", generate_key())
    with pytest.raises(RuntimeError, match="SECRET_KEY must be set") as caught:
        load_settings(str(instance))
    assert "secrets.token_urlsafe" in str(caught.value)


def test_invalid_key_fails_clearly_without_echoing_it(
    monkeypatch: pytest.MonkeyPatch, instance: Path
) -> None:
    bad_key = "definitely-not-a-fernet-key"
    monkeypatch.setenv("TOKEN_ENCRYPTION_KEYS", f"{generate_key()},{bad_key}")
    with pytest.raises(RuntimeError) as caught:
        load_settings(str(instance))
    message = str(caught.value)
    assert "TOKEN_ENCRYPTION_KEYS" in message
    assert "key 2 of 2" in message
    assert bad_key not in message
    assert "Fernet.generate_key()" in message


def test_corrupt_instance_key_file_names_the_file(instance: Path) -> None:
    instance.mkdir(parents=True)
    (instance / "token_encryption_key").write_text("garbage")
    with pytest.raises(RuntimeError, match="token_encryption_key") as caught:
        load_settings(str(instance))
    assert "garbage" not in str(caught.value)


@pytest.mark.parametrize("as_list", [False, True])
def test_override_wins_over_environment(
    monkeypatch: pytest.MonkeyPatch, instance: Path, as_list: bool
) -> None:
    monkeypatch.setenv("TOKEN_ENCRYPTION_KEYS", generate_key())
    current, previous = generate_key(), generate_key()
    override = [current, previous] if as_list else f"{current} {previous}"
    settings = load_settings(str(instance), {"TOKEN_ENCRYPTION_KEYS": override})
    assert settings["TOKEN_ENCRYPTION_KEYS"] == [current, previous]


def test_invalid_override_list_is_rejected(instance: Path) -> None:
    with pytest.raises(RuntimeError, match="key 1 of 1"):
        load_settings(str(instance), {"TOKEN_ENCRYPTION_KEYS": ["nope"]})


def test_score_history_days_defaults_to_400(instance: Path) -> None:
    assert load_settings(str(instance))["SCORE_HISTORY_DAYS"] == 400


def test_score_history_days_from_environment(
    monkeypatch: pytest.MonkeyPatch, instance: Path
) -> None:
    monkeypatch.setenv("SCORE_HISTORY_DAYS", "30")
    assert load_settings(str(instance))["SCORE_HISTORY_DAYS"] == 30
    overridden = load_settings(str(instance), {"SCORE_HISTORY_DAYS": 7})
    assert overridden["SCORE_HISTORY_DAYS"] == 7


def test_score_history_days_must_be_an_integer(
    monkeypatch: pytest.MonkeyPatch, instance: Path
) -> None:
    monkeypatch.setenv("SCORE_HISTORY_DAYS", "a year")
    with pytest.raises(ValueError, match="SCORE_HISTORY_DAYS must be an integer"):
        load_settings(str(instance))
