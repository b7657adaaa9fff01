"""Unexpected failures leave as logged JSON 500s that name a request id, on the /leads
fast path and on the Flask routes alike; domain errors map to their statuses."""

import logging

import pytest

from app.container import services_of
from app.services import errors
from app.web.errors import STATUS_OF, status_of


def _explode(*args: object, **kwargs: object) -> None:
    raise RuntimeError("boom: the engine broke")


def test_an_unexpected_error_in_leads_is_a_logged_json_500(
    app, client, scoring_client, monkeypatch, caplog
) -> None:
    monkeypatch.setattr(services_of(app).scoring, "score_batch", _explode)
    with caplog.at_level(logging.ERROR):
        response = client.post(
            "/leads",
            json={
                "api_key": scoring_client.api_key,
                "email": scoring_client.email,
                "leads": [{"email": "a@b.co"}],
            },
            headers={"X-Request-Id": "req-4711"},
        )
    assert response.status_code == 500
    assert response.get_json() == {"error": "Internal error; it has been logged"}
    assert response.headers["X-Request-Id"] == "req-4711"
    [record] = [r for r in caplog.records if "req-4711" in r.getMessage()]
    assert record.exc_info and "boom" in str(record.exc_info[1])


def test_leads_responses_carry_a_fresh_request_id(client, scoring_client) -> None:
    body = {
        "api_key": scoring_client.api_key,
        "email": scoring_client.email,
        "leads": [{"email": "a@b.co"}],
    }
    first = client.post("/leads", json=body).headers["X-Request-Id"]
    second = client.post("/leads", json=body).headers["X-Request-Id"]
    assert first and second and first != second
    hostile = client.post("/leads", json=body, headers={"X-Request-Id": "x\u2028" * 40})
    assert hostile.headers["X-Request-Id"] != "x\u2028" * 40


def test_an_unexpected_error_in_a_flask_route_is_a_logged_json_500(
    app, client, monkeypatch, caplog
) -> None:
    monkeypatch.setattr(services_of(app).accounts, "get_config", _explode)
    with caplog.at_level(logging.ERROR):
        response = client.post(
            "/config", json={"email": "a@b.co"}, headers={"X-Request-Id": "req-99"}
        )
    assert response.status_code == 500
    assert response.get_json() == {"error": "Internal error; it has been logged"}
    assert response.headers["X-Request-Id"] == "req-99"
    assert any("req-99" in r.getMessage() and r.exc_info for r in caplog.records)


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (errors.InvalidInput, 400),
        (errors.NotAuthenticated, 401),
        (errors.RegistrationClosed, 403),
        (errors.NotFound, 404),
        (errors.LimitExceeded, 413),
        (errors.NoFactorValues, 422),
        (errors.Unavailable, 503),
    ],
)
def test_every_domain_error_has_one_status(error: type, status: int) -> None:
    assert status_of(error("x")) == status
    domain = {
        cls
        for cls in vars(errors).values()
        if isinstance(cls, type) and issubclass(cls, errors.DomainError)
    }
    assert domain - {errors.DomainError} == set(STATUS_OF)
