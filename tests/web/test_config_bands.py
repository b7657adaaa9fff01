"""Label bands over HTTP: /config reports them, /leads labels with them, and a
self-hosted scoring service takes them from its Config API (80/60/40 when an
older Config API sends none)."""

import requests

from app.container import services_of
from app.models import CachedConfig
from app.scoring import DEFAULT_BANDS, LabelBands
from app.services.keys import hash_api_key
from app.services.learning.bands import pin_bands
from tests.conftest import close_app
from tests.web.test_remote_mode import Server, make

# Qualified status alone: a modest score, Cold under 80/60/40.
LEAD = {"email": "lead@example.com", "lead_status": "qualified"}


def config(client, email: str, api_key: str) -> dict:
    response = client.post("/config", json={"email": email, "api_key": api_key})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_config_reports_the_bands_and_leads_use_them(app, client) -> None:
    registered = client.post("/config", json={"email": "o@acme.com"}).get_json()
    assert registered["bands"] == {"hot": 80, "warm": 60, "cool": 40}
    request = {"api_key": registered["api_key"], "email": "o@acme.com"}
    scored = client.post("/leads", json={**request, "leads": [LEAD]}).get_json()
    before = scored["scores"][0]
    assert before["score"] < 40 and before["label"] == "Cold Lead"

    pinned = LabelBands(hot=before["score"], warm=2, cool=1)
    pin_bands(services_of(app).sessions, registered["client_id"], pinned)
    services_of(app).configs.invalidate()
    assert config(client, "o@acme.com", registered["api_key"])["bands"] == {
        "hot": before["score"],
        "warm": 2,
        "cool": 1,
    }
    scored = client.post("/leads", json={**request, "leads": [LEAD]}).get_json()
    after = scored["scores"][0]
    assert after["score"] == before["score"] and after["label"] == "Hot Lead"


def test_remote_scoring_takes_the_bands_of_the_config_api(tmp_path) -> None:
    central = make(tmp_path, "central")
    central_server = Server(central)
    scoring = make(tmp_path, "scoring", CONFIG_API_URL=central_server.url)
    try:
        registered = requests.post(
            f"{central_server.url}/config", json={"email": "o@acme.com"}, timeout=5
        ).json()
        pinned = LabelBands(hot=3, warm=2, cool=1)
        pin_bands(services_of(central).sessions, registered["client_id"], pinned)
        configs = services_of(scoring).configs
        served = configs.for_api_key(registered["api_key"], "o@acme.com")
        assert served is not None and served.bands == pinned

        # A copy stored from an older Config API has no bands: 80/60/40.
        with services_of(scoring).sessions.begin() as session:
            copy = session.get(CachedConfig, hash_api_key(registered["api_key"]))
            copy.payload = {k: v for k, v in copy.payload.items() if k != "bands"}
        central_server.stop()
        configs.invalidate()
        served = configs.for_api_key(registered["api_key"], "o@acme.com")
        assert served is not None and served.bands == DEFAULT_BANDS
    finally:
        central_server.stop()
        close_app(scoring)
        close_app(central)
