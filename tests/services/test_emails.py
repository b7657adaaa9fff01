"""The canonical form of client emails: look-alike spellings of one mailbox fold into
one, invisible characters and mixed scripts are refused, single-script addresses in
any script stay valid; lead keys keep their own, older rule."""

import hashlib
import hmac
import re

import idna
import pytest

from app.services.errors import InvalidInput
from app.services.keys import LeadKeys
from app.services.learning.emails import canonical_email, same_email

CYRILLIC_A = "\u0430"  # looks like Latin "a"
GREEK_OMICRON = "\u03bf"  # looks like Latin "o"


@pytest.mark.parametrize(
    "raw",
    [
        "owner@x.com",
        "Owner@X.com",
        "OWNER@X.COM.",
        "owner@x.com.",
        "  owner@x.com\t",
        "\uff4f\uff57\uff4e\uff45\uff52@\uff58.com",  # full-width letters
        "owner\uff20x.com",  # full-width @
    ],
)
def test_spellings_of_one_mailbox_fold_into_one(raw: str) -> None:
    assert canonical_email(raw) == "owner@x.com"


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("пример@пример.рф", "пример@xn--e1afmkfd.xn--p1ai"),
        ("ПРИМЕР@ПРИМЕР.РФ", "пример@xn--e1afmkfd.xn--p1ai"),
        ("пример@xn--e1afmkfd.xn--p1ai", "пример@xn--e1afmkfd.xn--p1ai"),
        ("用户@例子.中国", "用户@xn--fsqu00a.xn--fiqs8s"),
        ("ivan@пример.рф.", "ivan@xn--e1afmkfd.xn--p1ai"),
        ("straße@straße.de", "straße@xn--strae-oqa.de"),  # IDNA 2008 keeps ß
        ("Jane.Doe+x@Mail.Example.co.uk", "jane.doe+x@mail.example.co.uk"),
        # Latin with Han and Kana, Han and Hangul, Han and Bopomofo: allowed mixes.
        ("tanaka太郎@例え.jp", "tanaka太郎@xn--r8jz45g.jp"),
        ("すずきabc@x.jp", "すずきabc@x.jp"),
        ("김abc@x.kr", "김abc@x.kr"),
        ("abcㄅ中@x.tw", "abcㄅ中@x.tw"),
    ],
)
def test_single_script_and_allowed_mixes_stay_valid(raw: str, canonical: str) -> None:
    assert canonical_email(raw) == canonical
    assert canonical_email(canonical) == canonical  # a fixed point


@pytest.mark.parametrize(
    ("char", "name"),
    [
        ("\u200b", "U+200B"),  # zero width space
        ("\u200d", "U+200D"),  # zero width joiner
        ("\u200c", "U+200C"),  # zero width non-joiner
        ("\ufeff", "U+FEFF"),  # byte order mark
        ("\u00ad", "U+00AD"),  # soft hyphen
        ("\u202e", "U+202E"),  # right-to-left override
        ("\u2066", "U+2066"),  # left-to-right isolate
        ("\u0007", "U+0007"),  # a control character
        ("\u00a0", "U+00A0"),  # no-break space
        (" ", "U+0020"),
        ("\u3164", "U+3164"),  # Hangul filler, rendered as nothing
        ("\ue000", "U+E000"),  # private use
    ],
)
@pytest.mark.parametrize("where", ["local", "domain"])
def test_invisible_characters_are_refused(char: str, name: str, where: str) -> None:
    raw = f"own{char}er@x.com" if where == "local" else f"owner@x{char}y.com"
    with pytest.raises(InvalidInput, match=re.escape(name)):
        canonical_email(raw)


@pytest.mark.parametrize(
    "raw",
    [
        f"p{CYRILLIC_A}ypal@x.com",
        f"paypal@p{CYRILLIC_A}ypal.com",
        f"{GREEK_OMICRON}wner@x.com",
        "a@" + idna.encode(f"p{CYRILLIC_A}ypal.com").decode(),  # the same as A-labels
        "пример@examplе.рф",  # a Latin label with one Cyrillic "е"
        "abc한中ア@x.jp",  # Hangul and Kana do not mix
    ],
)
def test_mixed_scripts_are_refused(raw: str) -> None:
    with pytest.raises(InvalidInput, match="mixes letters of different scripts"):
        canonical_email(raw)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("owner", "exactly one @"),
        ("a@b@x.com", "exactly one @"),
        ("@x.com", "nothing before @"),
        ("owner@", "no domain"),
        ("owner@.", "no domain"),
        ("a..b@x.com", "misplaced dot"),
        (".a@x.com", "misplaced dot"),
        ("a.@x.com", "misplaced dot"),
        ('"a"@x.com', "cannot hold unquoted"),
        ("a<b@x.com", "cannot hold unquoted"),
        ("owner@x..com", "invalid email domain"),
        ("owner@-x.com", "invalid email domain"),
        ("owner@x_y.com", "invalid email domain"),
        ("owner@[127.0.0.1]", "invalid email domain"),
        ("owner@" + "a" * 64 + ".com", "invalid email domain"),
        ("a" * 65 + "@x.com", "at most 64 bytes"),
        ("用" * 22 + "@x.com", "at most 64 bytes"),  # 66 bytes in UTF-8
        ("owner@" + ".".join(["a" * 60] * 5) + ".com", "too long"),
    ],
)
def test_malformed_addresses_are_refused_with_a_reason(raw: str, message) -> None:
    with pytest.raises(InvalidInput, match=message):
        canonical_email(raw)


def test_limits_are_inclusive() -> None:
    local = "a" * 64
    assert canonical_email(f"{local}@x.com") == f"{local}@x.com"
    domain = ".".join(["b" * 63] * 3) + "." + "c" * 61  # 253 characters
    assert canonical_email(f"a@{domain}") == f"a@{domain}"


def test_same_email_accepts_spellings_of_the_stored_address() -> None:
    stored = canonical_email("owner@x.com")
    assert same_email("owner@x.com", stored)
    assert same_email("Owner@X.COM", stored)
    assert same_email("owner@x.com.", stored)
    assert same_email("\uff4fwner@x.com", stored)
    assert not same_email("owner@x.co", stored)
    assert not same_email("own\u200ber@x.com", stored)
    assert not same_email("not an email", stored)
    assert same_email(
        "пример@пример.рф", canonical_email("пример@xn--e1afmkfd.xn--p1ai")
    )


def test_lead_keys_keep_their_own_rule() -> None:
    """Stored lead keys are HMACs of the trimmed, lower-cased id: unchanged."""
    keys = LeadKeys("test-secret")
    derived = hashlib.sha256(b"conturs-lead-key:test-secret").digest()
    expected = hmac.new(derived, b"lead@example.com.", hashlib.sha256).hexdigest()
    assert keys.for_lead_id(" Lead@Example.com. ") == expected
    assert keys.for_lead_id("lead@example.com.") != keys.for_lead_id("lead@example.com")
