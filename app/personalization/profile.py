"""Client profiles: what we know about an account, from its email and its settings.

The profile decides which clients count as "similar" and which industry prior
applies, so it is normalised hard: industries become vertical keys, countries
ISO 3166-1 alpha-2 codes, sizes inclusive employee ranges. Only the registration
email's domain is kept, never the address.

What an account states is stored and read again by every refit of every client,
so `check_stated` bounds it before it is stored: short texts, a short ICP list.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from app.personalization.taxonomy import VERTICALS, vertical_of
from app.scoring import IdealCustomerProfile
from app.scoring.icp import parse_size_range

SizeRange = tuple[int, int | None]

# Consumer mailbox providers: their domain says nothing about the client's company.
FREE_MAIL_DOMAINS = frozenset(
    """
    gmail.com googlemail.com yahoo.com yahoo.co.uk yahoo.fr yahoo.de yahoo.es
    yahoo.it yahoo.co.jp ymail.com rocketmail.com outlook.com outlook.de
    outlook.fr hotmail.com hotmail.co.uk hotmail.fr hotmail.de hotmail.it
    hotmail.es live.com live.co.uk live.fr live.de msn.com icloud.com me.com
    mac.com aol.com aim.com proton.me protonmail.com protonmail.ch pm.me
    tutanota.com tuta.io gmx.com gmx.net gmx.de gmx.at gmx.ch web.de
    t-online.de freenet.de mail.com email.com zoho.com zohomail.com yandex.ru
    yandex.com yandex.ua ya.ru mail.ru inbox.ru list.ru bk.ru rambler.ru
    ukr.net i.ua meta.ua qq.com 163.com 126.com sina.com naver.com daum.net
    hanmail.net rediffmail.com seznam.cz wp.pl o2.pl onet.pl interia.pl
    libero.it virgilio.it orange.fr free.fr laposte.net sfr.fr wanadoo.fr
    btinternet.com sky.com comcast.net verizon.net att.net sbcglobal.net
    bigpond.com shaw.ca rogers.com fastmail.com hey.com duck.com
    """.split()
)

# Country-code TLDs that are sold and used as generic names worldwide.
GENERIC_CCTLDS = frozenset(
    "io co ai tv me ly fm gg to sh cc ws am im is so vc la ac nu gl sx st cx".split()
)

_ISO_ALPHA2 = frozenset(
    """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL
    BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV
    CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD
    GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM
    IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK
    LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW
    MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR
    PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS
    ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY
    UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW
    """.split()
)
_COUNTRY_ALIASES = {"UK": "GB", "EL": "GR"}  # the .uk TLD and the EU's code for Greece

# No industry name, country or size range needs more; the ~20 verticals need fewer.
MAX_PROFILE_TEXT_CHARS = 100
MAX_ICP_INDUSTRIES = 50
_TEXT_FIELDS = ("industry", "country")
_SIZE_FIELDS = ("company_size", "icp_company_sizes")


@dataclass(frozen=True, slots=True)
class ClientProfile:
    """An account's normalised profile; every field may be unknown (None/empty)."""

    email_domain: str | None = None
    free_mail: bool = False
    country: str | None = None
    vertical: str | None = None
    industry_text: str | None = None
    company_size: SizeRange | None = None
    icp_industries: frozenset[str] = field(default_factory=frozenset)
    icp_size_range: SizeRange | None = None

    def to_icp(self) -> IdealCustomerProfile:
        """The scoring engine's ICP, matching lead industries through our taxonomy."""
        return IdealCustomerProfile(
            industries=self.icp_industries,
            size_range=self.icp_size_range,
            vertical_of=_lead_vertical,
        )


_vertical_uncached = vertical_of.__wrapped__


def _lead_vertical(industry: str) -> str | None:
    # A lead's industry is the caller's text (up to 1,000 characters): only short
    # ones are cached, so vertical_of's 8,192 entries stay small whatever is sent.
    if len(industry) > MAX_PROFILE_TEXT_CHARS:
        return _vertical_uncached(industry)
    return vertical_of(industry)


def country_of_domain(domain: str) -> str | None:
    """ISO alpha-2 country from a domain's ccTLD (`.co.uk` -> GB), None if generic."""
    tld = domain.rstrip(".").rsplit(".", 1)[-1].casefold()
    if len(tld) != 2 or tld in GENERIC_CCTLDS:
        return None
    code = _COUNTRY_ALIASES.get(tld.upper(), tld.upper())
    return code if code in _ISO_ALPHA2 else None


def profile_from_email(email: str) -> ClientProfile:
    """Enrich a new client from its registration email: domain, free mail, country."""
    if not isinstance(email, str):
        raise ValueError("email must be a string")
    local, at, domain = email.strip().rpartition("@")
    domain = domain.casefold().rstrip(".")
    if not at or not local or "." not in domain or " " in domain:
        raise ValueError(f"email {email!r} must look like name@company.com")
    return ClientProfile(
        email_domain=domain,
        free_mail=domain in FREE_MAIL_DOMAINS,
        country=country_of_domain(domain),
    )


def normalise_country(text: str) -> str:
    """A stated country as ISO 3166-1 alpha-2 ("de", "UK" -> "DE", "GB")."""
    code = text.strip().upper()
    code = _COUNTRY_ALIASES.get(code, code)
    if code not in _ISO_ALPHA2:
        raise ValueError(
            f"country {text!r} must be an ISO 3166-1 alpha-2 code such as DE or US"
        )
    return code


def normalise_size(value: object, name: str = "company_size") -> SizeRange:
    """An employee count or range: 42, "50-200", "1000+" -> inclusive (low, high)."""
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a number or a range such as 50-200")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"{name} must not be negative")
        return value, value
    if isinstance(value, str):
        try:
            return parse_size_range(value)
        except ValueError:
            raise ValueError(
                f"{name} {value!r} must look like 50-200, 1000+ or 10"
            ) from None
    if isinstance(value, tuple | list) and len(value) == 2:
        low, high = value
        if (
            isinstance(low, int)
            and not isinstance(low, bool)
            and (high is None or (isinstance(high, int) and not isinstance(high, bool)))
            and low >= 0
            and (high is None or high >= low)
        ):
            return low, high
    raise ValueError(f"{name} must be a number or a range such as 50-200")


def normalise_icp_industries(values: Iterable[str]) -> frozenset[str]:
    """ICP industries as vertical keys; any text that maps to no vertical is an error.

    Unlike the client's own industry (unknown simply means "no vertical"), an ICP
    entry we cannot place would silently never match a lead, so it is rejected.
    """
    if isinstance(values, str):
        raise ValueError("icp_industries must be a list of industries")
    keys = set()
    for value in values:
        if not isinstance(value, str):
            raise ValueError("icp_industries must be a list of industries")
        key = value if value in VERTICALS else vertical_of(value)
        if key is None:
            raise ValueError(
                f"ICP industry {value!r} matches none of our verticals; "
                f"use one of: {', '.join(VERTICALS)}"
            )
        keys.add(key)
    return frozenset(keys)


def check_stated(changes: Mapping[str, object]) -> None:
    """Refuse stated values too large or unfit to store, naming the field, so a
    profile stays small whoever writes it (API, CLI, admin page)."""
    for name, value in changes.items():
        if value is None:
            continue
        if name in _TEXT_FIELDS:
            if not isinstance(value, str):
                raise ValueError(f"{name} must be a string")
            _check_text(value, name)
        elif name in _SIZE_FIELDS:
            if isinstance(value, bool):
                raise ValueError(f"{name} must be a number or a range such as 50-200")
            if isinstance(value, str):
                _check_text(value, name)
        elif name == "icp_industries":
            if isinstance(value, str) or not isinstance(value, list | tuple):
                raise ValueError("icp_industries must be a list of industries")
            if len(value) > MAX_ICP_INDUSTRIES:
                raise ValueError(
                    f"icp_industries must hold at most {MAX_ICP_INDUSTRIES} entries"
                )
            for entry in value:
                if not isinstance(entry, str):
                    raise ValueError("icp_industries must be a list of industries")
                _check_text(entry, "icp_industries")


def _check_text(value: str, name: str) -> None:
    if len(value) > MAX_PROFILE_TEXT_CHARS:
        raise ValueError(f"{name} must be at most {MAX_PROFILE_TEXT_CHARS} characters")
    if "\x00" in value:
        raise ValueError(f"{name} must not contain NUL characters")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError(
                f"{name} must be valid Unicode text (no lone surrogates)"
            ) from None


_UNSET: object = object()


def with_stated(
    profile: ClientProfile,
    *,
    industry: str | None | object = _UNSET,
    company_size: object = _UNSET,
    country: str | None | object = _UNSET,
    icp_industries: Iterable[str] | None | object = _UNSET,
    icp_company_sizes: object = _UNSET,
) -> ClientProfile:
    """Apply what an account states (API, CLI, admin page); None clears a field.

    Omitted arguments keep the current value. Stated values beat enrichment: a
    stated country replaces the one guessed from the email's TLD.
    """
    changes: dict[str, object] = {}
    if industry is not _UNSET:
        if industry is None or (isinstance(industry, str) and not industry.strip()):
            changes.update(vertical=None, industry_text=None)
        elif isinstance(industry, str):
            text = industry.strip()
            key = text if text in VERTICALS else vertical_of(text)
            changes.update(vertical=key, industry_text=text)
        else:
            raise ValueError("industry must be a string")
    if company_size is not _UNSET:
        changes["company_size"] = (
            None if company_size is None else normalise_size(company_size)
        )
    if country is not _UNSET:
        if country is None:
            changes["country"] = None
        elif isinstance(country, str):
            changes["country"] = normalise_country(country)
        else:
            raise ValueError("country must be a string")
    if icp_industries is not _UNSET:
        changes["icp_industries"] = (
            frozenset()
            if icp_industries is None
            else normalise_icp_industries(icp_industries)  # type: ignore[arg-type]
        )
    if icp_company_sizes is not _UNSET:
        changes["icp_size_range"] = (
            None
            if icp_company_sizes is None
            else normalise_size(icp_company_sizes, "icp_company_sizes")
        )
    return replace(profile, **changes)  # type: ignore[arg-type]
