"""`conturs clients create` prints a usable id and key; --weights pins them."""

import json

import pytest
from click.testing import CliRunner

from app.cli import main


def invoke(monkeypatch, tmp_path, *args: str):
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_clients_create_prints_json(monkeypatch, tmp_path) -> None:
    assert invoke(monkeypatch, tmp_path, "db", "upgrade").exit_code == 0
    result = invoke(monkeypatch, tmp_path, "clients", "create", "--email", "A@b.co")
    assert result.exit_code == 0
    issued = json.loads(result.stdout)
    assert issued["client_id"].startswith("cl_")
    assert issued["api_key"].startswith("ck_") and len(issued["api_key"]) > 40
    again = invoke(monkeypatch, tmp_path, "clients", "create", "--email", "a@b.co")
    assert again.exit_code == 1
    assert "already exists" in again.stderr


def test_clients_create_rejects_bad_weights(monkeypatch, tmp_path) -> None:
    invoke(monkeypatch, tmp_path, "db", "upgrade")
    for weights, message in [
        ("{not json", "not JSON"),
        ('{"lead_status": -1}', "non-negative"),
        ('{"colour": 1}', "unknown factor"),
    ]:
        result = CliRunner().invoke(
            main, ["clients", "create", "--email", "w@b.co", "--weights", weights]
        )
        assert result.exit_code != 0
        assert message in result.output


def test_weights_refit_prints_versions(monkeypatch, tmp_path) -> None:
    invoke(monkeypatch, tmp_path, "db", "upgrade")
    issued = json.loads(
        invoke(monkeypatch, tmp_path, "clients", "create", "--email", "r@b.co").stdout
    )
    result = invoke(monkeypatch, tmp_path, "weights", "refit", "--all")
    assert result.exit_code == 0
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [row["client_id"] for row in rows] == [issued["client_id"]]
    assert rows[0]["method"] == "default"
    assert sum(rows[0]["weights"].values()) == pytest.approx(1.0)
    one = invoke(monkeypatch, tmp_path, "weights", "refit", "--client", "cl_missing")
    assert one.exit_code == 1
    both = CliRunner().invoke(main, ["weights", "refit"])
    assert both.exit_code != 0 and "exactly one" in both.output


def test_clients_profile_sets_the_prior(monkeypatch, tmp_path) -> None:
    invoke(monkeypatch, tmp_path, "db", "upgrade")
    issued = json.loads(
        invoke(monkeypatch, tmp_path, "clients", "create", "--email", "p@b.co").stdout
    )
    result = invoke(
        monkeypatch,
        tmp_path,
        "clients",
        "profile",
        issued["client_id"],
        "--industry",
        "Hospital & Health Care",
        "--company-size",
        "51-200",
        "--icp-industry",
        "Retail",
        "--icp-industry",
        "Banking",
        "--icp-company-sizes",
        "10-50",
    )
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["method"] == "industry_prior"
    assert body["profile"]["vertical"] == "healthcare"
    assert body["profile"]["icp_company_sizes"] == "10-50"
    assert len(body["profile"]["icp_industries"]) == 2
    bad = invoke(
        monkeypatch,
        tmp_path,
        "clients",
        "profile",
        issued["client_id"],
        "--company-size",
        "huge",
    )
    assert bad.exit_code == 1 and "company_size" in bad.stderr
    missing = invoke(monkeypatch, tmp_path, "clients", "profile", "cl_nope")
    assert missing.exit_code == 1 and "No client" in missing.stderr
