"""`conturs clients bands` pins a client's label thresholds and unpins them."""

import json

from click.testing import CliRunner

from app.cli import main


def invoke(monkeypatch, tmp_path, *args: str):
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    return CliRunner().invoke(main, list(args))


def test_pin_and_unpin_bands(monkeypatch, tmp_path) -> None:
    assert invoke(monkeypatch, tmp_path, "db", "upgrade").exit_code == 0
    created = invoke(monkeypatch, tmp_path, "clients", "create", "--email", "b@b.co")
    client_id = json.loads(created.stdout)["client_id"]

    def bands(*options: str):
        return invoke(monkeypatch, tmp_path, "clients", "bands", client_id, *options)

    pinned = bands("--hot", "70", "--warm", "50", "--cool", "30")
    assert pinned.exit_code == 0, pinned.output
    assert json.loads(pinned.stdout) == {
        "client_id": client_id,
        "pinned": True,
        "bands": {"hot": 70, "warm": 50, "cool": 30},
    }
    unpinned = bands("--unpin")
    assert unpinned.exit_code == 0, unpinned.output
    assert json.loads(unpinned.stdout)["bands"] == {"hot": 80, "warm": 60, "cool": 40}

    for options, message in [
        (("--hot", "50", "--warm", "60", "--cool", "40"), "cool < warm < hot"),
        (("--hot", "80", "--warm", "60"), "together"),
        (("--hot", "80", "--warm", "60", "--cool", "40", "--unpin"), "together"),
        ((), "together"),
        (("--hot", "101", "--warm", "60", "--cool", "40"), "101"),
    ]:
        refused = bands(*options)
        assert refused.exit_code == 2, (options, refused.output)
        assert message in refused.output, refused.output
    missing = invoke(monkeypatch, tmp_path, "clients", "bands", "cl_nope", "--unpin")
    assert missing.exit_code == 1 and "No client cl_nope" in missing.stderr
