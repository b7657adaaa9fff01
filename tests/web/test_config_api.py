"""POST /config and POST /feedback: registration, profiles, method selection at its
boundaries, feedback validation and idempotence, learning, and what is stored."""

import math
import random

import pytest
from sqlalchemy import select, text

from app.container import services_of
from app.models import Client, Feedback, WeightVersion
from app.personalization.outcomes import REWARDS
from app.personalization.priors import prior_for
from app.scoring import FACTOR_KEYS
from app.scoring.weights import weights_mapping

FACTORS = dict.fromkeys(FACTOR_KEYS, 0.5)


def register(client, email="owner@acme-software.com", **profile):
    body = {"email": email}
    if profile:
        body["profile"] = profile
    response = client.post("/config", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def feedback(client, registered, lead_id, action, factors=FACTORS, **changes):
    body = {
        "api_key": registered["api_key"],
        "client_id": registered["client_id"],
        "lead_id": lead_id,
        "action": action,
        **changes,
    }
    if factors is not None:
        body["factors"] = factors
    return client.post("/feedback", json=body)


def assert_published(weights: dict) -> None:
    assert set(weights) == set(FACTOR_KEYS)
    assert all(math.isfinite(w) and w >= 0 for w in weights.values())
    assert sum(weights.values()) == pytest.approx(1.0)


def test_registration_returns_the_key_once(client) -> None:
    first = register(client)
    assert first["is_new_client"] is True
    assert first["api_key"].startswith("ck_")
    assert first["method"] == "default"
    assert_published(first["weights"])
    again = client.post("/config", json={"email": "owner@acme-software.com"})
    assert again.status_code == 401
    known = client.post(
        "/config",
        json={"email": "Owner@Acme-Software.com", "api_key": first["api_key"]},
    )
    assert known.status_code == 200
    body = known.get_json()
    assert body["is_new_client"] is False and "api_key" not in body
    assert body["client_id"] == first["client_id"]


def test_unknown_email_with_a_key_is_not_registered(client) -> None:
    response = client.post("/config", json={"email": "x@y.com", "api_key": "ck_nope"})
    assert response.status_code == 401


def test_closed_registration(app, client) -> None:
    services_of(app).accounts.open_registration = False
    response = client.post("/config", json={"email": "new@client.com"})
    assert response.status_code == 403
    assert "Registration is closed" in response.get_json()["error"]


def test_profile_sets_industry_prior_and_icp(client) -> None:
    registered = register(
        client,
        industry="Computer Software",
        company_size="51-200",
        icp_industries=["Retail"],
        icp_company_sizes="10-50",
    )
    assert registered["method"] == "industry_prior"
    assert registered["profile"]["vertical"] == "software_saas"
    assert registered["profile"]["icp_company_sizes"] == "10-50"
    assert_published(registered["weights"])
    leads = {
        "api_key": registered["api_key"],
        "email": "owner@acme-software.com",
        "leads": [
            {"industry": "Retail", "employee_count": 30},
            {"industry": "Banking", "employee_count": 5000},
        ],
    }
    scores = client.post("/leads", json=leads).get_json()
    assert scores["method"] == "industry_prior"
    by_key = [{f["key"]: f["value"] for f in s["factors"]} for s in scores["scores"]]
    assert by_key[0]["industry_match"] == 1.0 and by_key[1]["industry_match"] == 0.0
    assert by_key[0]["company_size_bucket"] == 1.0
    assert by_key[1]["company_size_bucket"] == 0.0


def test_unknown_industry_text_maps_to_no_vertical(client) -> None:
    registered = register(client, industry="Underwater basket weaving")
    assert registered["profile"]["vertical"] is None
    assert registered["method"] == "default"


@pytest.mark.parametrize(
    ("profile", "message"),
    [
        ({"industry": 5}, "industry"),
        ({"company_size": "lots"}, "company_size"),
        ({"favourite": "x"}, "favourite"),
    ],
)
def test_profile_validation(client, profile, message) -> None:
    response = client.post("/config", json={"email": "a@b.com", "profile": profile})
    assert response.status_code == 400
    assert message in response.get_json()["error"]


def _add_learned_peers(app, count: int, vertical_industry: str) -> None:
    """Peers that already learned from their own 200 outcomes, in the same vertical:
    lead status and engagement decided who converted."""
    sessions = services_of(app).sessions
    peer_weights = weights_mapping((0.02,) * 5 + (0.5, 0.3, 0.02, 0.02, 0.06))
    rng = random.Random(7)
    for index in range(count):
        with sessions.begin() as session:
            peer = Client(
                id=f"cl_peer{index}",
                email=f"p{index}@peer{index}.com",
                stated_profile={"industry": vertical_industry},
                vertical="software_saas",
            )
            session.add(peer)
            session.flush()
            session.add(
                WeightVersion(
                    client_id=peer.id,
                    version=1,
                    method="industry_prior",
                    weights=peer_weights,
                    personalised=True,
                    n_outcomes=200,
                    details={},
                )
            )
            for lead in range(200):
                values = [rng.random() for _ in FACTOR_KEYS]
                warmth = 0.6 * values[5] + 0.4 * values[6]
                won = rng.random() < warmth**2
                session.add(
                    Feedback(
                        client_id=peer.id,
                        lead_key=f"{index}-{lead}",
                        action="converted" if won else "ignored",
                        reward=1.0 if won else -0.5,
                        factor_values=values,
                    )
                )


@pytest.mark.parametrize(
    ("peers", "method"), [(4, "industry_prior"), (5, "similar_clients")]
)
def test_similar_clients_needs_five(app, client, peers, method) -> None:
    _add_learned_peers(app, peers, "Computer Software")
    registered = register(client, industry="SaaS software")
    assert registered["method"] == method
    assert_published(registered["weights"])
    if method == "similar_clients":
        assert registered["weights"]["lead_status"] > 0.3


def test_pinned_weights_are_never_overridden(app, client) -> None:
    from app.services.learning.clients import create_client

    issued = create_client(
        services_of(app).sessions, "pin@acme.com", {"lead_status": 1.0}
    )
    registered = {"api_key": issued.api_key, "client_id": issued.client_id}
    for index in range(40):
        action = "converted" if index % 2 else "bounced"
        assert feedback(client, registered, f"lead{index}", action).status_code == 200
    body = client.post(
        "/config", json={"email": "pin@acme.com", "api_key": issued.api_key}
    ).get_json()
    assert body["method"] == "custom"
    assert body["weights"]["lead_status"] == 1.0


def test_feedback_actions_and_duplicates(client) -> None:
    registered = register(client)
    for action, reward in REWARDS.items():
        response = feedback(client, registered, "lead-1", action)
        assert response.status_code == 200
        assert response.get_json()["status"] == "recorded"
        assert response.get_json()["reward"] == reward
    duplicate = feedback(client, registered, "LEAD-1 ", "converted")
    assert duplicate.get_json()["status"] == "duplicate"


@pytest.mark.parametrize(
    ("changes", "status", "message"),
    [
        ({"action": "won"}, 400, "valid actions: converted, replied, clicked"),
        ({"api_key": ""}, 401, "api_key and client_id required"),
        ({"api_key": "ck_wrong"}, 401, "Invalid API key"),
        ({"client_id": "cl_other"}, 401, "Invalid API key"),
        ({"factors": {"lead_status": 1}}, 400, "missing"),
        ({"factors": {**FACTORS, "colour": 1}}, 400, "unknown: colour"),
        ({"factors": {**FACTORS, "lead_status": 2}}, 400, "between 0 and 1"),
        ({"factors": {**FACTORS, "lead_status": "x"}}, 400, "Invalid request body"),
        ({"lead_id": None}, 400, "lead_id"),
    ],
)
def test_feedback_errors(client, changes, status, message) -> None:
    registered = register(client)
    body = {
        "api_key": registered["api_key"],
        "client_id": registered["client_id"],
        "lead_id": "lead-1",
        "action": "converted",
        "factors": FACTORS,
        **changes,
    }
    response = client.post("/feedback", json=body)
    assert response.status_code == status, response.get_json()
    assert message in response.get_json()["error"]


def test_feedback_without_factors_uses_the_scoring_snapshot(app, client) -> None:
    registered = register(client)
    unknown = feedback(client, registered, "never@scored.com", "converted", None)
    assert unknown.status_code == 422
    assert "never scored" in unknown.get_json()["error"]
    client.post(
        "/leads",
        json={
            "api_key": registered["api_key"],
            "email": "owner@acme-software.com",
            "leads": [{"email": "Lead@Example.com", "lead_status": "qualified"}],
        },
    )
    assert services_of(app).recorder.flush() == 1
    known = feedback(client, registered, "lead@example.com", "replied", None)
    assert known.status_code == 200, known.get_json()


def _outcomes(client, registered, count: int) -> None:
    """Outcomes where lead status and engagement decide conversion."""
    for index in range(count):
        good = index % 2 == 0
        values = dict.fromkeys(FACTOR_KEYS, 0.5)
        values["lead_status"] = 1.0 if good else 0.1
        values["engagement_score"] = 0.9 if good else (0.1 + (index % 7) / 20)
        values["profile_completeness"] = (index % 9) / 9
        action = "converted" if good else "ignored"
        assert (
            feedback(client, registered, f"l{index}", action, values).status_code == 200
        )


def test_learning_personalises_after_enough_outcomes(app, client) -> None:
    registered = register(client)
    _outcomes(client, registered, 29)
    body = client.post(
        "/config",
        json={"email": "owner@acme-software.com", "api_key": registered["api_key"]},
    ).get_json()
    assert body["personalised"] is False  # below 30 outcomes nothing is learned
    _outcomes(client, registered, 100)
    body = client.post(
        "/config",
        json={"email": "owner@acme-software.com", "api_key": registered["api_key"]},
    ).get_json()
    assert body["personalised"] is True, body
    assert body["version"] >= 2
    assert_published(body["weights"])
    assert body["weights"]["lead_status"] > 0.10  # moved up from the default
    with services_of(app).sessions() as session:
        versions = session.scalars(select(WeightVersion)).all()
        assert all(v.method and v.created_at for v in versions)
        assert any(v.holdout_auc is not None and v.n_outcomes >= 30 for v in versions)


def test_no_lead_pii_is_stored(app, client) -> None:
    registered = register(client)
    lead = {
        "email": "secret.person@private.com",
        "first_name": "Secret",
        "company": "Hidden Corp",
        "phone": "+1-555-0199",
    }
    client.post(
        "/leads",
        json={
            "api_key": registered["api_key"],
            "email": "owner@acme-software.com",
            "leads": [lead],
        },
    )
    services_of(app).recorder.flush()
    assert (
        feedback(
            client, registered, "secret.person@private.com", "converted", None
        ).status_code
        == 200
    )
    engine = services_of(app).engine
    with engine.connect() as connection:
        tables = [
            "clients",
            "api_keys",
            "lead_snapshots",
            "score_history",
            "feedback",
            "weight_versions",
            "cached_configs",
            "feedback_outbox",
        ]
        dump = " ".join(
            str(row)
            for table in tables
            for row in connection.execute(text(f"SELECT * FROM {table}"))
        ).lower()
    for secret in ("secret.person", "private.com", "hidden corp", "555-0199"):
        assert secret not in dump


def test_feedback_of_similar_clients_shapes_a_new_clients_weights(client) -> None:
    for index in range(5):
        peer = register(client, f"owner@software{index}.com", industry="Software")
        _outcomes(client, peer, 100)
        current = client.post(
            "/config",
            json={"email": f"owner@software{index}.com", "api_key": peer["api_key"]},
        ).get_json()
        assert current["personalised"] is True, current
    newcomer = register(client, "owner@newsoftware.com", industry="SaaS")
    assert newcomer["method"] == "similar_clients"
    software_prior = dict(zip(FACTOR_KEYS, prior_for("software_saas"), strict=True))
    # Status and engagement decided the peers' outcomes (collinear, so their sum).
    assert newcomer["weights"]["lead_status"] > software_prior["lead_status"] + 0.01
    learned = ("lead_status", "engagement_score")
    assert sum(newcomer["weights"][k] for k in learned) > sum(
        software_prior[k] for k in learned
    )
