"""Duplicate matching over plain values: normalised phones, e-mails, name keys, address
fingerprints, blocking keys and a pair score with its reasons.

Pure code: no database, no network. The scan (quality.services) feeds it rows and stores
what it returns.
"""

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import phonenumbers
from rapidfuzz import fuzz

from geo.normalization import to_halfwidth, to_simplified

DEFAULT_REGION = "CN"
# Suffixes that say "a company" and nothing about which one: stripped before names are
# compared (longest first, repeatedly: 深圳华南贸易股份有限公司 → 深圳华南贸易).
_COMPANY_SUFFIXES = sorted(
    {
        "股份有限公司", "有限责任公司", "有限公司", "集团有限公司", "集团", "股份", "公司", "分公司",
        "co.,ltd.", "co.,ltd", "co. ltd.", "co ltd", "co.", "ltd.", "ltd", "limited", "inc.", "inc",
        "llc", "corp.", "corp", "corporation", "company", "gmbh", "s.a.", "plc", " co",
    },
    key=len,
    reverse=True,
)  # fmt: skip
# A leading province or city name in a company name (广东 / 深圳市 ...) is often dropped or
# abbreviated; names are compared with and without it.
_LEADING_PLACE_RE = re.compile(r"^[\u4e00-\u9fff]{2,3}?(?:省|市|自治区)")
_NOT_WORD_RE = re.compile(r"[\W_]+", re.UNICODE)
_SPACES_RE = re.compile(r"\s+")
_EMAIL_RE = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")  # fmt: skip
# Names with more customers than this share a blocking key too common to mean anything
# (王伟 in 北京): such blocks are skipped rather than compared pairwise.
MAX_BLOCK = 50


@dataclass(frozen=True, slots=True)
class PhoneNumber:
    """A parsed phone: E.164 for matching, the national form for people, and its type."""

    e164: str
    national: str
    kind: str  # "mobile", "landline" or "other"


def parse_phone(text: str, region: str = DEFAULT_REGION) -> PhoneNumber | None:
    """The phone in `text` (China by default), or None when it is not a possible number."""
    text = to_halfwidth(text or "").strip()
    if not text or sum(c.isdigit() for c in text) < 5:
        return None
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    kind = phonenumbers.number_type(number)
    if kind in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE):
        label = "mobile"
    elif kind == phonenumbers.PhoneNumberType.FIXED_LINE:
        label = "landline"
    else:
        label = "other"
    return PhoneNumber(
        e164=phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164),
        national=phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL),
        kind=label,
    )


_DIGITS_RE = re.compile(r"\D+")
_CN_MOBILE_RE = re.compile(r"^(?:0086|86)?(1[3-9]\d{9})$")


def phone_key(text: str) -> str:
    """E.164 of a phone, or "" when it cannot be parsed. Chinese mobile numbers (most of them)
    take a fast path: parsing and formatting with phonenumbers costs ~0.5 ms a number, which
    is most of a million-customer scan."""
    text = to_halfwidth(text or "").strip()
    if not text:
        return ""
    lead = text.lstrip("(（ ")
    if lead[:1] == "1" or lead[:3] == "+86" or lead[:2] == "86" or lead[:4] == "0086":
        mobile = _CN_MOBILE_RE.match(_DIGITS_RE.sub("", text))
        if mobile and not any(c.isalpha() for c in text):
            return "+86" + mobile.group(1)
    if sum(c.isdigit() for c in text) < 5:
        return ""
    try:
        number = phonenumbers.parse(text, DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        return ""
    if not phonenumbers.is_possible_number(number):
        return ""
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def email_valid(text: str) -> bool:
    return bool(_EMAIL_RE.match(text or ""))


def email_key(text: str) -> str:
    text = (text or "").strip().lower()
    return text if email_valid(text) else ""


def plain_text(text: str) -> str:
    """Simplified, half-width, lower-case, without spaces and punctuation."""
    text = to_simplified(to_halfwidth(text or "")).lower()
    return _NOT_WORD_RE.sub("", unicodedata.normalize("NFKC", text))


_SUFFIX_RE = re.compile("(?:" + "|".join(re.escape(x) for x in _COMPANY_SUFFIXES) + r")[ ,.]*$")


@lru_cache(maxsize=65536)  # a scan scores each name against several others
def name_key(name: str) -> str:
    """A customer name without company suffixes, punctuation, case or traditional characters."""
    text = _SPACES_RE.sub(" ", to_simplified(to_halfwidth(name or "")).lower()).strip()
    while (found := _SUFFIX_RE.search(text)) and found.start() >= 2:
        text = text[: found.start()].rstrip(" ,.")
    return _NOT_WORD_RE.sub("", text)


@lru_cache(maxsize=65536)
def name_core(name: str) -> str:
    """`name_key` without a leading province or city name (深圳华南贸易 → 华南贸易)."""
    key = name_key(name)
    core = _LEADING_PLACE_RE.sub("", key)
    return core if len(core) >= 2 else key


def address_fingerprint(region_id: int | None, detail: str) -> str:
    """The deepest region and the detail line's plain text: equal for the same place written
    with other spacing, width, punctuation or traditional characters."""
    detail = plain_text(detail)
    if not detail:
        return ""
    return f"{region_id or 0}:{detail}"


@dataclass(frozen=True, slots=True)
class CustomerRecord:
    """What matching knows of one customer: contact keys, name key and its addresses."""

    id: int
    name: str
    phone: str = ""  # E.164
    email: str = ""
    city_ids: tuple[int, ...] = ()
    addresses: tuple[str, ...] = ()  # fingerprints

    @property
    def key(self) -> str:
        return name_key(self.name)


def blocking_keys(record: CustomerRecord) -> set[tuple[str, str]]:
    """(kind, key) pairs: customers sharing any one are compared. Names block per city, by
    the whole core and by its first and last four characters (so one typo still meets)."""
    keys: set[tuple[str, str]] = set()
    if record.phone:
        keys.add(("phone", record.phone))
    if record.email:
        keys.add(("email", record.email))
    for fp in record.addresses:
        keys.add(("address", fp))
    core = name_core(record.name)
    if len(core) >= 2:
        for city in record.city_ids or (0,):
            keys.add(("name", f"{city}:{core}"))
            if len(core) >= 6:
                keys.add(("name", f"{city}:<{core[:4]}"))
                keys.add(("name", f"{city}:>{core[-4:]}"))
    return keys


@dataclass(frozen=True, slots=True)
class Match:
    score: float  # 0..1
    reasons: tuple[str, ...]


DEFAULT_THRESHOLD = 0.8


def score_pair(a: CustomerRecord, b: CustomerRecord) -> Match:
    """How likely two customers are one, and why ("phone", "email", "name 0.93", "address 1.00",
    "same city")."""
    reasons = []
    same_phone = bool(a.phone) and a.phone == b.phone
    same_email = bool(a.email) and a.email == b.email
    if same_phone:
        reasons.append("phone")
    if same_email:
        reasons.append("email")
    ka, kb = name_core(a.name), name_core(b.name)
    name = 0.0
    if ka and kb:
        name = max(fuzz.ratio(ka, kb), fuzz.ratio(a.key, b.key)) / 100
        if min(len(ka), len(kb)) >= 4:
            # One name inside the other (深圳华南贸易 / 华南贸易: a place prefix dropped).
            name = max(name, 0.95 * fuzz.partial_ratio(ka, kb) / 100)
    if name >= 0.5:
        reasons.append(f"name {name:.2f}")
    address = 0.0
    if a.addresses and b.addresses:
        address = max(_address_similarity(x, y) for x in a.addresses for y in b.addresses)
        if address >= 0.5:
            reasons.append(f"address {address:.2f}")
    same_city = bool(set(a.city_ids) & set(b.city_ids))
    if same_city:
        reasons.append("same city")
    if same_phone or same_email:
        # One contact in common: the same customer unless the names disagree.
        score = 0.55 + 0.45 * max(name, address)
    else:
        score = 0.6 * name + 0.4 * address
        if not same_city and not address:
            score *= 0.8
    return Match(round(min(score, 1.0), 4), tuple(reasons))


def _address_similarity(x: str, y: str) -> float:
    rx, _, dx = x.partition(":")
    ry, _, dy = y.partition(":")
    if rx != ry and rx != "0" and ry != "0":
        return 0.0
    return fuzz.ratio(dx, dy) / 100
