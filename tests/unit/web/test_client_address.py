"""The caller's address: X-Forwarded-For only behind a trusted proxy, read from the
right, IPv6 callers counted by their /64, and bad values never an error."""

import pytest

from app.web.client_address import UNKNOWN, ClientAddresses, parse_address

PROXY = "192.0.2.1"
CALLER = "198.51.100.7"


def environ(peer: str | None, forwarded: str | None = None) -> dict[str, str]:
    values = {}
    if peer is not None:
        values["REMOTE_ADDR"] = peer
    if forwarded is not None:
        values["HTTP_X_FORWARDED_FOR"] = forwarded
    return values


def test_without_trusted_proxies_the_peer_is_the_caller() -> None:
    addresses = ClientAddresses("")
    assert addresses.of(environ(CALLER, "203.0.113.1")) == CALLER
    assert addresses.of(environ(None)) == UNKNOWN


def test_an_untrusted_peer_cannot_name_another_caller() -> None:
    addresses = ClientAddresses(f"{PROXY}/32")
    assert addresses.of(environ("203.0.113.9", CALLER)) == "203.0.113.9"


def test_behind_a_trusted_proxy_the_rightmost_untrusted_hop_is_the_caller() -> None:
    addresses = ClientAddresses("192.0.2.0/24, 10.0.0.0/8")
    # The caller wrote the left part; our proxies appended the rest.
    forwarded = f"203.0.113.66, 203.0.113.67, {CALLER}, 10.1.2.3, 192.0.2.9"
    assert addresses.of(environ(PROXY, forwarded)) == CALLER
    assert addresses.of(environ(PROXY, CALLER)) == CALLER
    assert addresses.of(environ(PROXY)) == PROXY


def test_when_every_hop_is_ours_the_farthest_is_the_caller() -> None:
    addresses = ClientAddresses("192.0.2.0/24")
    assert addresses.of(environ(PROXY, "192.0.2.7, 192.0.2.8")) == "192.0.2.7"


def test_a_star_trusts_any_peer_but_only_one_hop() -> None:
    addresses = ClientAddresses("*")
    forwarded = f"203.0.113.66, {CALLER}"
    assert addresses.of(environ("172.16.5.4", forwarded)) == CALLER


@pytest.mark.parametrize(
    "forwarded",
    [
        "",
        " ",
        ",,,",
        "garbage",
        "999.1.1.1",
        f"{CALLER}, unknown",
        "[2001:db8::1",
        "1.2.3.4:5:6",
        "\x00\xff",
        "a" * 100_000,
        ", ".join(["192.0.2.9"] * 10_000) + ", nonsense",
    ],
)
def test_bad_forwarded_values_leave_the_peer_as_the_caller(forwarded: str) -> None:
    addresses = ClientAddresses(f"{PROXY}/32, 192.0.2.9")
    assert addresses.of(environ(PROXY, forwarded)) == PROXY


def test_the_chain_walked_is_bounded() -> None:
    addresses = ClientAddresses("192.0.2.0/24")
    forwarded = ", ".join([CALLER] + ["192.0.2.9"] * 100)
    # Sixteen hops of our own at most; a longer chain stops at the farthest walked.
    assert addresses.of(environ(PROXY, forwarded)) == "192.0.2.9"


@pytest.mark.parametrize(
    ("written", "address"),
    [
        ("198.51.100.7", "198.51.100.7"),
        (" 198.51.100.7 ", "198.51.100.7"),
        ("198.51.100.7:4711", "198.51.100.7"),
        ('"[2001:db8::1]:443"', "2001:db8::1"),
        ("[2001:db8::1]", "2001:db8::1"),
        ("2001:db8::1", "2001:db8::1"),
        ("::ffff:198.51.100.7", "198.51.100.7"),
    ],
)
def test_addresses_as_proxies_write_them(written: str, address: str) -> None:
    parsed = parse_address(written)
    assert parsed is not None and str(parsed) == address


def test_ipv6_callers_are_counted_by_their_64() -> None:
    addresses = ClientAddresses("")
    one = addresses.limit_key(environ("2001:db8:1:2::5"))
    assert one == addresses.limit_key(environ("2001:db8:1:2:ffff:ffff:ffff:1"))
    assert one == "2001:db8:1:2::/64"
    assert one != addresses.limit_key(environ("2001:db8:1:3::5"))
    assert addresses.limit_key(environ("::ffff:198.51.100.7")) == "198.51.100.7"
    assert addresses.limit_key(environ(CALLER)) == CALLER


def test_a_setting_that_names_no_network_is_refused() -> None:
    with pytest.raises(ValueError, match="FORWARDED_ALLOW_IPS.*proxy.internal"):
        ClientAddresses("192.0.2.1, proxy.internal")
