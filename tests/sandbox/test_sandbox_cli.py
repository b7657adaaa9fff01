"""`conturs sandbox` as a separate process: one JSON line with URLs and app
credentials, then both emulations serve seeded demo data until terminated."""

import json
import subprocess
import sys
from pathlib import Path

import requests
from hubspot import HubSpot
from hubspot.crm.contacts import PublicObjectSearchRequest

ROOT = Path(__file__).resolve().parents[2]


def test_conturs_sandbox_prints_credentials_and_serves_demo_data():
    command = [
        sys.executable,
        "-c",
        "from app.cli import main; main()",
        "sandbox",
        "--hubspot-port",
        "0",
        "--uspacy-port",
        "0",
        "--contacts",
        "40",
        "--deals",
        "15",
        "--hubspot-redirect-url",
        "https://demo.conturs.example/hubspot/oauth/callback",
    ]
    with subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    ) as process:
        try:
            line = process.stdout.readline()
            config = json.loads(line)
            hubspot, uspacy = config["hubspot"], config["uspacy"]
            assert hubspot["client_id"] and hubspot["client_secret"]
            assert uspacy["client_id"] and uspacy["client_secret"]
            app = requests.get(f"{hubspot['base_url']}/_control/app", timeout=5).json()
            assert app["client_secret"] == hubspot["client_secret"]
            assert (
                app["redirect_urls"]
                == hubspot["redirect_urls"]
                == ["https://demo.conturs.example/hubspot/oauth/callback"]
            )
            assert 10**7 <= hubspot["demo_hub_id"] < 2**31
            tokens = requests.post(
                f"{hubspot['base_url']}/_control/accounts/{hubspot['demo_hub_id']}"
                "/tokens",
                timeout=5,
            ).json()
            client = HubSpot(
                access_token=tokens["access_token"], host=hubspot["base_url"]
            )
            found = client.crm.contacts.search_api.do_search(
                PublicObjectSearchRequest(limit=1)
            )
            assert found.total == 40
            assert int(found.results[0].id) > 2**32
            deals = client.crm.deals.search_api.do_search(
                PublicObjectSearchRequest(limit=1)
            )
            assert deals.total == 15
            pipelines = client.crm.pipelines.pipelines_api.get_all("deals").results
            assert len(pipelines) == 2
            pair = requests.post(
                f"{uspacy['base_url']}/_control/portals/{uspacy['demo_domain']}/tokens",
                timeout=5,
            ).json()
            portal_url = uspacy["base_url_template"].format(
                domain=uspacy["demo_domain"]
            )
            leads = requests.get(
                f"{portal_url}/crm/v1/entities/leads",
                headers={"Authorization": f"Bearer {pair['jwt']}"},
                timeout=5,
            ).json()
            assert leads["meta"]["total"] > 0
        finally:
            process.terminate()
            process.wait(timeout=10)
    assert process.returncode == 0
