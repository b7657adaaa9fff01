"""The public pages the HubSpot developer project and listing name: every URL
rendered for this deployment answers with an HTML page titled like its
markdown, and every anchor the pages link to exists."""

import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

import requests

from app.crm.hubspot.manifest import app_config, listing_config
from app.web.pages import DOCS_DIR, PAGES, render_pages
from tests.crm_app.conftest import ServedApp


class _Page(HTMLParser):
    """The title, heading ids and link targets of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.title, self.ids, self.links = "", set(), []
        self._in_title = False

    def handle_starttag(self, tag, attrs):
        found = dict(attrs)
        self._in_title = tag == "title"
        if found.get("id"):
            self.ids.add(found["id"])
        if tag == "a":
            self.links.append(found["href"])

    def handle_endtag(self, tag):
        self._in_title = False

    def handle_data(self, data):
        if self._in_title:
            self.title += data


def _heading(path: str) -> str:
    text = (DOCS_DIR / PAGES[path]).read_text(encoding="utf-8")
    return re.search(r"^# (.+)$", text, re.MULTILINE).group(1)


def test_every_url_the_listing_names_is_a_titled_page(served: ServedApp):
    support = app_config(served.base_url)["config"]["support"]
    listing = listing_config(served.base_url)
    urls = {
        support["documentationUrl"],
        support["supportUrl"],
        listing["privacyPolicyUrl"],
        listing["termsOfServiceUrl"],
    }
    pages = {}
    for url in sorted(urls):
        answer = requests.get(url, timeout=10)
        assert answer.status_code == 200, url
        assert answer.headers["Content-Type"].startswith("text/html")
        page = _Page()
        page.feed(answer.text)
        path = urlsplit(url).path
        assert page.title == _heading(path)
        assert "<h1 id=" in answer.text
        pages[path] = page
    assert set(pages) == set(PAGES)
    # The support link's anchor, and every link between and within the pages.
    assert urlsplit(support["supportUrl"]).fragment in pages["/docs/hubspot-setup"].ids
    for path, page in pages.items():
        for link in page.links:
            target, _, anchor = link.partition("#")
            if target and not target.startswith("/"):
                continue  # mail and outside links
            if anchor:
                assert anchor in pages[target or path].ids, (path, link)


def test_links_carry_the_deployments_path_prefix(tmp_path):
    for name in PAGES.values():
        (tmp_path / name).write_text(
            f"# Page {name}\n\n[terms](/terms) [mail](mailto:a@b.co) <b>x</b>\n"
        )
    (tmp_path / PAGES["/terms"]).unlink()
    pages = render_pages(tmp_path, "/conturs")
    assert set(pages) == set(PAGES) - {"/terms"}  # a missing file: no page
    privacy = pages["/privacy"].decode()
    assert '<a href="/conturs/terms">terms</a>' in privacy
    assert 'href="mailto:a@b.co"' in privacy
    assert "&lt;b&gt;x&lt;/b&gt;" in privacy
    assert "<title>Page privacy.md</title>" in privacy
