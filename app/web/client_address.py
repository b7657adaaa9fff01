"""Who is calling: the address that per-address rate limits count against.

Behind a reverse proxy every request arrives from the proxy, and the caller's address
is in X-Forwarded-For, a header the caller can write too. So the header is read only
when the direct peer (REMOTE_ADDR) is a proxy named in FORWARDED_ALLOW_IPS, and from
the right: each proxy appends the address it received the request from, so the
rightmost address that is not one of our proxies is the first one that no proxy we
trust could have been lied to about. Values that are not addresses are never an
error: the header is ignored and the peer counts as the caller.

FORWARDED_ALLOW_IPS is also gunicorn's setting (for X-Forwarded-Proto), which takes
addresses and "*" only; networks are accepted here for other servers and tests.
"""

import ipaddress
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# A forged header can be long; the real chain of our proxies is short.
_MAX_HOPS = 16
# Servers without a peer address (a unix socket) still need one key for limits.
UNKNOWN = "unknown"


class ClientAddresses:
    """Finds the caller's address, trusting X-Forwarded-For from our proxies only."""

    def __init__(self, trusted_proxies: str | Iterable[str] = "") -> None:
        entries = (
            trusted_proxies.replace(",", " ").split()
            if isinstance(trusted_proxies, str)
            else [entry.strip() for entry in trusted_proxies if entry.strip()]
        )
        # "*" (as in gunicorn's setting of the same name) trusts any direct peer,
        # for platforms whose router addresses are not known in advance.
        self._any_peer = "*" in entries
        self._networks = tuple(_network(entry) for entry in entries if entry != "*")
        self._reads_header = bool(entries)
        self._peer_is_trusted = lru_cache(maxsize=256)(self._is_trusted_text)

    def of(self, environ: Mapping[str, Any]) -> str:
        """The caller's address: REMOTE_ADDR, or X-Forwarded-For's behind our proxy."""
        peer = environ.get("REMOTE_ADDR") or UNKNOWN
        if not self._reads_header:
            return peer
        forwarded = environ.get("HTTP_X_FORWARDED_FOR")
        if not forwarded or not (self._any_peer or self._peer_is_trusted(peer)):
            return peer
        return self._from_forwarded(forwarded) or peer

    def limit_key(self, environ: Mapping[str, Any]) -> str:
        """The caller as rate limits count it: its address, or its /64 for IPv6."""
        address = self.of(environ)
        return _ipv6_prefix(address) if ":" in address else address

    def _from_forwarded(self, header: str) -> str | None:
        nearest: IpAddress | None = None
        for hop in reversed(header.split(",")[-_MAX_HOPS:]):
            address = parse_address(hop)
            if address is None:
                return None  # not written by a proxy of ours: ignore the header
            nearest = address
            if not self._contains(address):
                break
        # Every hop is ours (an internal caller): the farthest one is the caller.
        return str(nearest) if nearest is not None else None

    def _contains(self, address: IpAddress) -> bool:
        return any(address in network for network in self._networks)

    def _is_trusted_text(self, peer: str) -> bool:
        address = parse_address(peer)
        return address is not None and self._contains(address)


def parse_address(text: str) -> IpAddress | None:
    """An address as proxies write it (`1.2.3.4`, `1.2.3.4:80`, `[::1]:80`), or None."""
    text = text.strip().strip('"')
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            return None
        text = text[1:end]
    elif text.count(":") == 1:
        text = text.partition(":")[0]  # an IPv4 address with a port
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped  # dual-stack sockets report IPv4 callers this way
    return address


def _network(entry: str) -> IpNetwork:
    try:
        return ipaddress.ip_network(entry, strict=False)
    except ValueError:
        raise ValueError(
            f"FORWARDED_ALLOW_IPS: {entry!r} is not an IP address or network"
        ) from None


@lru_cache(maxsize=4096)
def _ipv6_prefix(address: str) -> str:
    # One IPv6 host usually holds a whole /64, so counting single addresses would
    # let it rotate through 2**64 of them; IPv4-mapped addresses stay IPv4.
    parsed = parse_address(address)
    if parsed is None or parsed.version == 4:
        return str(parsed) if parsed is not None else address
    return str(ipaddress.IPv6Network((parsed, 64), strict=False))
