"""The public pages the HubSpot listing links to: the setup guide, the privacy
notice and the terms (docs/*.md), as plain HTML at the paths the developer
project names (app/crm/hubspot/manifest.py).

The markdown is ours, so it is rendered once when the app is built and served
from memory. Headings get GitHub-style ids, so the guide's anchors (and the
listing's support link, `…/docs/hubspot-setup#support`) work, and links to our
own paths carry the deployment's path prefix, if PUBLIC_BASE_URL has one.
"""

import html
import logging
import re
from pathlib import Path
from urllib.parse import urlsplit

from flask import Blueprint, Response, abort, current_app
from flask.blueprints import BlueprintSetupState
from markdown_it import MarkdownIt
from markdown_it.token import Token

from app.crm.hubspot.manifest import DOCUMENTATION_PATH, PRIVACY_PATH, TERMS_PATH

log = logging.getLogger(__name__)

bp = Blueprint("pages", __name__)

DOCS_DIR = Path(__file__).resolve().parents[2] / "docs"
PAGES = {
    DOCUMENTATION_PATH: "hubspot-setup.md",
    PRIVACY_PATH: "privacy.md",
    TERMS_PATH: "terms.md",
}
_EXTENSION = "conturs.pages"
_NOT_SLUG = re.compile(r"[^\w\- ]")

_TEMPLATE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ font: 16px/1.55 system-ui, sans-serif; color: #1d2530; margin: 0; }}
main, footer {{ max-width: 46rem; margin: 0 auto; padding: 1.5rem; }}
table {{ border-collapse: collapse; margin: 1rem 0; }}
th, td {{ border: 1px solid #ccd3db; padding: .35rem .6rem; vertical-align: top;
  text-align: left; }}
code {{ background: #f1f4f7; padding: 0 .2rem; }}
footer {{ border-top: 1px solid #ccd3db; font-size: .9rem; }}
</style>
</head>
<body>
<main>
{body}</main>
<footer><a href="{prefix}{guide}">Setup guide</a> ·
<a href="{prefix}{privacy}">Privacy</a> · <a href="{prefix}{terms}">Terms</a></footer>
</body>
</html>
"""


@bp.record_once
def _render_at_startup(state: BlueprintSetupState) -> None:
    base_url = state.app.config.get("PUBLIC_BASE_URL") or ""
    prefix = urlsplit(base_url).path.rstrip("/")
    state.app.extensions[_EXTENSION] = render_pages(DOCS_DIR, prefix)


def _show(path: str) -> Response:
    """One of the public pages, as rendered at startup."""
    page = current_app.extensions[_EXTENSION].get(path)
    if page is None:
        abort(404)
    response = Response(page, mimetype="text/html")
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


for _path, _name in PAGES.items():
    bp.add_url_rule(_path, Path(_name).stem, _show, defaults={"path": _path})


def render_pages(docs_dir: Path, prefix: str = "") -> dict[str, bytes]:
    """Every page whose markdown is present, by URL path; a missing file is
    logged and its page answers 404."""
    markdown = MarkdownIt("commonmark", {"html": False}).enable(
        ["table", "strikethrough"]
    )
    pages = {}
    for path, name in PAGES.items():
        try:
            text = (docs_dir / name).read_text(encoding="utf-8")
        except OSError as error:
            log.warning("public page %s is unavailable: %s", path, error)
            continue
        pages[path] = render_page(markdown, text, prefix).encode("utf-8")
    return pages


def render_page(markdown: MarkdownIt, text: str, prefix: str = "") -> str:
    """A whole HTML page from markdown; its title is the first heading."""
    tokens = markdown.parse(text)
    title, used = "Conturs", set()
    for index, token in enumerate(tokens):
        if token.type == "heading_open":
            words = _plain(tokens[index + 1])
            if token.tag == "h1" and title == "Conturs":
                title = words
            token.attrSet("id", _slug(words, used))
        for child in token.children or []:
            href = child.attrGet("href") if child.type == "link_open" else None
            if isinstance(href, str) and href.startswith("/"):
                if not href.startswith("//"):
                    child.attrSet("href", prefix + href)
    body = markdown.renderer.render(tokens, markdown.options, {})
    return _TEMPLATE.format(
        title=html.escape(title),
        body=body,
        prefix=html.escape(prefix),
        guide=DOCUMENTATION_PATH,
        privacy=PRIVACY_PATH,
        terms=TERMS_PATH,
    )


def _plain(inline: Token) -> str:
    return "".join(
        child.content
        for child in inline.children or []
        if child.type in ("text", "code_inline")
    )


def _slug(words: str, used: set[str]) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces
    to hyphens, and -1, -2… for repeats."""
    base = _NOT_SLUG.sub("", words.strip().lower()).replace(" ", "-")
    slug, repeat = base, 0
    while slug in used:
        repeat += 1
        slug = f"{base}-{repeat}"
    used.add(slug)
    return slug
