"""One base URL per portal: `/_portal/{domain}/…` stands for `https://{domain}/…`.

In production every portal is its own host, so a token sent to the wrong portal's
host is refused. The emulation serves all portals on one port; this WSGI layer
moves `/_portal/{domain}` from the path into `SCRIPT_NAME` (links the API builds
keep the prefix) and notes the domain, which the guard then compares with the
portal of the Bearer token. The app reaches a portal through
`USPACY_BASE_URL_TEMPLATE=http://127.0.0.1:PORT/_portal/{domain}`.
"""

from collections.abc import Callable, Iterable
from typing import Any

from flask import request

PREFIX = "/_portal/"
DOMAIN_KEY = "uspacy.portal_domain"
WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class PortalHosts:
    """WSGI middleware that maps `/_portal/{domain}/rest` to `rest` on `domain`."""

    def __init__(self, app: WsgiApp) -> None:
        self.app = app

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        """Strip the portal prefix; the sandbox's own `/_control` is not a portal
        route, so it is not found under a prefix."""
        path = environ.get("PATH_INFO", "")
        if path.startswith(PREFIX):
            domain, _, rest = path[len(PREFIX) :].partition("/")
            rest = "/" + rest
            if not domain or rest.startswith("/_control"):
                start_response("404 NOT FOUND", [("Content-Type", "application/json")])
                return [b'{"message":"Not Found"}']
            environ[DOMAIN_KEY] = domain.lower()
            environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + PREFIX + domain
            environ["PATH_INFO"] = rest
        return self.app(environ, start_response)


def requested_domain() -> str | None:
    """The portal named by the request's base URL, or None for a bare route."""
    return request.environ.get(DOMAIN_KEY)


def portal_base_url(server_url: str, domain: str) -> str:
    """The base URL of one portal on the emulation's server."""
    return f"{server_url}{PREFIX}{domain}"
