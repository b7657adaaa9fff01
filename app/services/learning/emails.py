"""Client email addresses: one canonical form per real mailbox, and the mail a client
can be sent.

An account is known by its email, so two spellings of one mailbox must not become two
accounts: `canonical_email` folds compatibility forms and case, writes the domain as
IDNA A-labels without a trailing dot, and refuses what only looks like an address —
invisible or control characters, and letters of different scripts within one part
(UTS #39, "highly restrictive"). Lead ids are hashed by `LeadKeys` with their own,
older rule, so stored lead keys keep matching.
"""

import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

import idna
import regex

from app.services.errors import InvalidInput

MAX_LOCAL_OCTETS = 64  # RFC 5321 (and 6531 for UTF-8 local parts)
MAX_EMAIL_LENGTH = 320  # the stored column's width
MAX_DOMAIN_LENGTH = 253

# Unassigned, private-use, control and format characters, separators, and whatever
# Unicode says to render as nothing (soft hyphen, zero-width joiners, fillers).
_INVISIBLE = regex.compile(
    r"[\p{Cc}\p{Cf}\p{Co}\p{Cs}\p{Cn}\p{Z}\p{Default_Ignorable_Code_Point}]"
)
# ASCII characters a local part may hold unquoted (RFC 5322 atext, and dots).
_ASCII_LOCAL = regex.compile(r"[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~.]*")
# Characters used by every script (digits, punctuation) or by the letter before them.
_ANY_SCRIPT = regex.compile(r"[\p{scx=Zyyy}\p{scx=Zinh}]")

# ISO 15924 codes of the scripts Unicode assigns, but Common, Inherited and Unknown.
_SCRIPT_CODES = """
Adlm Aghb Ahom Arab Armi Armn Avst Bali Bamu Bass Batk Beng Berf Bhks Bopo Brah
Brai Bugi Buhd Cakm Cans Cari Cham Cher Chrs Copt Cpmn Cprt Cyrl Deva Diak Dogr
Dsrt Dupl Egyp Elba Elym Ethi Gara Geor Glag Gong Gonm Goth Gran Grek Gujr Gukh
Guru Hang Hani Hano Hatr Hebr Hira Hluw Hmng Hmnp Hrkt Hung Ital Java Jurc Kali
Kana Kawi Khar Khmr Khoj Kits Knda Krai Kthi Lana Laoo Latn Lepc Limb Lina Linb
Lisu Lyci Lydi Mahj Maka Mand Mani Marc Medf Mend Merc Mero Miao Mlym Modi Mong
Mroo Mtei Mult Mymr Nagm Nand Narb Nbat Newa Nkoo Nshu Ogam Olck Onao Orkh Orya
Osge Osma Ougr Palm Pauc Pcun Perm Phag Phli Phlp Phnx Plrd Prti Rjng Rohg Runr
Samr Sarb Saur Seal Sgnw Shaw Shrd Sidd Sidt Sind Sinh Sogd Sogo Sora Soyo Sund
Sunu Sylo Syrc Tagb Takr Tale Talu Taml Tang Tavt Tayo Telu Tfng Tglg Thaa Thai
Tibt Tirh Tnsa Todr Tols Toto Tutg Ugar Vaii Vith Wara Wcho Xpeo Xsux Yezi Yiii
Zanb
""".split()
# UTS #39 augmented script sets: Han belongs to the Japanese, Korean and
# Han-with-Bopomofo writing systems, and each of those scripts to its own.
_AUGMENT = {
    "Hani": frozenset({"Hanb", "Jpan", "Kore"}),
    "Hira": frozenset({"Jpan"}),
    "Kana": frozenset({"Jpan"}),
    "Hrkt": frozenset({"Jpan"}),
    "Hang": frozenset({"Kore"}),
    "Bopo": frozenset({"Hanb"}),
}
# Latin may join Han with Kana, Bopomofo or Hangul ("highly restrictive").
_WITH_LATIN = frozenset({"Jpan", "Hanb", "Kore"})


def canonical_email(raw: str) -> str:
    """The one stored form of an address, so look-alike spellings of a mailbox find
    the same account; raises InvalidInput saying what is wrong."""
    text = raw.strip()
    _refuse_invisible(text)
    text = unicodedata.normalize("NFKC", text)
    _refuse_invisible(text)
    if text.count("@") != 1:
        raise InvalidInput(f"not an email address: {raw!r} needs exactly one @")
    local, domain = text.split("@")
    local = unicodedata.normalize("NFKC", local.lower())
    _check_local(local, raw)
    domain = _ascii_domain(domain, raw)
    for label in [local, *idna.decode(domain).split(".")]:
        _refuse_mixed_scripts(label, raw)
    email = f"{local}@{domain}"
    if len(email) > MAX_EMAIL_LENGTH:
        raise InvalidInput(f"email too long: at most {MAX_EMAIL_LENGTH} characters")
    return email


def same_email(raw: str, stored: str) -> bool:
    """True when `raw` names the address stored as `stored`; cheap when it is spelt
    as stored, which is how nearly every request names its client."""
    if raw == stored:
        return True
    if raw.isascii() and raw.strip().lower() == stored:
        return True
    try:
        return canonical_email(raw) == stored
    except InvalidInput:
        return False


def _refuse_invisible(text: str) -> None:
    found = _INVISIBLE.search(text)
    if found is not None:
        raise InvalidInput(
            "email contains an invisible, control or space character "
            f"(U+{ord(found.group()):04X}); type the address without it"
        )


def _check_local(local: str, raw: str) -> None:
    if not local:
        raise InvalidInput(f"not an email address: {raw!r} has nothing before @")
    if len(local.encode("utf-8")) > MAX_LOCAL_OCTETS:
        raise InvalidInput(f"email too long: at most {MAX_LOCAL_OCTETS} bytes before @")
    ascii_part = "".join(char for char in local if char.isascii())
    if not _ASCII_LOCAL.fullmatch(ascii_part):
        raise InvalidInput(
            f"not an email address: {raw!r} has characters before @ that an "
            "address cannot hold unquoted"
        )
    if local.startswith(".") or local.endswith(".") or ".." in local:
        raise InvalidInput(
            f"not an email address: {raw!r} has a misplaced dot before @"
        )


def _ascii_domain(domain: str, raw: str) -> str:
    """The domain in IDNA A-labels (lower case), without the root's trailing dot."""
    if domain.endswith("."):
        domain = domain[:-1]
    if not domain:
        raise InvalidInput(f"not an email address: {raw!r} has no domain")
    try:
        ascii_domain = idna.encode(domain, uts46=True).decode("ascii")
    except UnicodeError as error:  # IDNAError and codec errors alike
        raise InvalidInput(f"invalid email domain {domain!r}: {error}") from None
    if len(ascii_domain) > MAX_DOMAIN_LENGTH:
        raise InvalidInput(f"email domain too long: at most {MAX_DOMAIN_LENGTH}")
    return ascii_domain


def _refuse_mixed_scripts(label: str, raw: str) -> None:
    """UTS #39 "highly restrictive": one script per label, or Latin with Han and
    Kana, Han and Bopomofo, or Han and Hangul."""
    sets = [scripts for scripts in map(_scripts_of, label) if scripts is not None]
    if not sets or frozenset.intersection(*sets):
        return
    without_latin = [scripts for scripts in sets if "Latn" not in scripts]
    if without_latin and frozenset.intersection(*without_latin) & _WITH_LATIN:
        return
    named = sorted(set().union(*sets) - set().union(*_AUGMENT.values()))
    raise InvalidInput(
        f"email {raw!r} mixes letters of different scripts in {label!r} "
        f"({', '.join(named)}); addresses that only look alike are refused"
    )


@lru_cache(maxsize=4096)
def _scripts_of(char: str) -> frozenset[str] | None:
    """A character's augmented Script_Extensions; None when any script may use it."""
    if char.isascii():
        return frozenset({"Latn"}) if char.isalpha() else None
    if _ANY_SCRIPT.match(char):
        return None
    found = {code for code, pattern in _script_patterns() if pattern.match(char)}
    augmented = set(found)
    for code in found:
        augmented |= _AUGMENT.get(code, frozenset())
    return frozenset(augmented)


@lru_cache(maxsize=1)
def _script_patterns() -> tuple[tuple[str, "regex.Pattern[str]"], ...]:
    patterns = []
    for code in _SCRIPT_CODES:
        try:
            patterns.append((code, regex.compile(rf"\p{{scx={code}}}")))
        except regex.error:  # a script newer than the installed regex's data
            continue
    return tuple(patterns)


@dataclass(frozen=True)
class Mail:
    """One plain-text message to one address."""

    to: str
    subject: str
    body: str


class Mailer(Protocol):
    """Sends mail (an adapter chosen when the services are built)."""

    def send(self, to: str, subject: str, body: str) -> None:
        """Deliver one plain-text message; raises when it could not be handed over."""
        ...


def key_mail(email: str, api_key: str) -> Mail:
    """The message that carries a newly registered address its only copy of a key."""
    return Mail(
        to=email,
        subject="Your Conturs API key",
        body=(
            f"An account for {email} was registered on the Conturs scoring API.\n\n"
            f"API key: {api_key}\n\n"
            "This key is shown only in this message: keep it secret. Call POST "
            "/config with your email and this key to see your client id and "
            "weights, and POST /leads to score leads.\n\n"
            "If you did not ask for it, ignore this message: nobody else has the "
            "key.\n"
        ),
    )


def notice_mail(email: str) -> Mail:
    """The message that tells a registered address someone asked for a key, and
    grants nothing."""
    return Mail(
        to=email,
        subject="Someone asked for a Conturs API key for this address",
        body=(
            f"Someone, perhaps you, asked the Conturs scoring API for a key for "
            f"{email}. This address already has an account, so no key was sent.\n\n"
            "If you lost your key, ask the operator of the service to issue a new "
            "one (conturs clients rotate-key with your client id); the old key "
            "then stops working.\n\n"
            "If it was not you, ignore this message: nothing has changed.\n"
        ),
    )
