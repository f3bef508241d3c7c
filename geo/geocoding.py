"""Geocoding: address text → WGS-84 point with a precision and a source, and back.

Three geocoders share one interface:
- `OfflineGeocoder` (the default): the centroid of the deepest region the caller
  already resolved (a parsed address or a region record); pure, no network.
- `GeopyGeocoder`: any geopy provider chosen by name (plus AMap, which geopy
  lacks), rate limited, cached in Django's cache, its answer converted from the
  provider's coordinate system to WGS-84; on any error or quota it falls back to
  the offline result and says so in `source`.
- `ReverseGeocoder`: lat/lng → nearest leaf division (district, or a city or
  province without districts) by centroid, from an in-memory grid index.

`get_geocoder()` builds the one configured by `settings.GEOCODER`. This module
knows nothing about customers or addresses.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import logging
import math
import time
import unicodedata
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from functools import lru_cache, partial
from typing import Any, Protocol
from urllib.parse import urlencode

from django.conf import settings
from django.core.cache import caches
from django.core.exceptions import ImproperlyConfigured
from geopy.adapters import URLLibAdapter
from geopy.exc import (
    ConfigurationError,
    GeocoderAuthenticationFailure,
    GeocoderInsufficientPrivileges,
    GeocoderQueryError,
    GeocoderQuotaExceeded,
    GeocoderServiceError,
    GeocoderTimedOut,
    GeocoderUnavailable,
    GeopyError,
)
from geopy.extra.rate_limiter import RateLimiter
from geopy.geocoders import get_geocoder_for_service
from geopy.geocoders.base import DEFAULT_SENTINEL
from geopy.geocoders.base import Geocoder as GeopyBaseGeocoder
from geopy.location import Location

from geo.choices import PRECISION_RANK, CoordinateSystem, GeocodePrecision, RegionLevel
from geo.coords import haversine_km, to_wgs84

logger = logging.getLogger(__name__)

OFFLINE_SOURCE = "offline"


@dataclass(frozen=True, slots=True)
class GeocodeResult:
    """A located address: WGS-84 point, how precise it is, and who said so."""

    lat: float
    lng: float
    precision: GeocodePrecision
    source: str
    region_code: str = ""
    formatted: str = ""


class LocatedRegion(Protocol):
    """What a region hint must offer: a `RegionRecord`, a parsed region or a `Region`."""

    code: str
    level: str
    lat: float | None
    lng: float | None


LEVEL_PRECISION = {
    RegionLevel.COUNTRY: GeocodePrecision.COUNTRY,
    RegionLevel.PROVINCE: GeocodePrecision.PROVINCE,
    RegionLevel.CITY: GeocodePrecision.CITY,
    RegionLevel.DISTRICT: GeocodePrecision.DISTRICT,
    RegionLevel.TOWNSHIP: GeocodePrecision.TOWNSHIP,
}
_HINT_LEVELS = ("township", "district", "city", "province", "country")


def deepest_located_region(hint: Any) -> LocatedRegion | None:
    """The deepest region with a centroid in `hint`: a region itself, or an object
    with `district` / `city` / `province` / `country` regions (a parsed address)."""
    if hint is None:
        return None
    if hasattr(hint, "level") and hasattr(hint, "lat"):
        candidates: Iterable[Any] = (hint,)
    else:
        candidates = (getattr(hint, level, None) for level in _HINT_LEVELS)
    for region in candidates:
        if getattr(region, "lat", None) is not None and getattr(region, "lng", None) is not None:
            return region
    return None


def offline_result(hint: Any, *, source: str = OFFLINE_SOURCE) -> GeocodeResult | None:
    """Centroid of the deepest located region in `hint`, at that region's level.

    An estimated centroid still counts at its level: the address is known to lie
    in that region, only the point inside it is approximate.
    """
    region = deepest_located_region(hint)
    if region is None:
        return None
    precision = LEVEL_PRECISION.get(str(region.level), GeocodePrecision.NONE)
    return GeocodeResult(
        lat=float(region.lat),
        lng=float(region.lng),
        precision=precision,
        source=source,
        region_code=str(region.code or ""),
        formatted=str(getattr(region, "name", "") or ""),
    )


def is_finer(a: GeocodeResult | None, b: GeocodeResult | None) -> bool:
    """True when `a` locates more precisely than `b` (None is the coarsest)."""
    if a is None:
        return False
    if b is None:
        return True
    return PRECISION_RANK[a.precision] < PRECISION_RANK[b.precision]


class Geocoder(ABC):
    """Turns address text (and optionally the regions already parsed from it) into a point."""

    @abstractmethod
    def geocode(self, query: str, *, region_hint: Any = None) -> GeocodeResult | None:
        """Locate one address; None when nothing at all is known about it."""

    def geocode_many(self, queries: Iterable[str | tuple[str, Any]]) -> list[GeocodeResult | None]:
        """Locate a batch; each item is a query or a `(query, region_hint)` pair."""
        return [self.geocode(query, region_hint=hint) for query, hint in _query_pairs(queries)]

    def locate_region(self, region: Any) -> GeocodeResult | None:
        """The offline centroid of a known region (or of a parsed address's deepest one)."""
        return offline_result(region)


def _query_pairs(queries: Iterable[str | tuple[str, Any]]) -> list[tuple[str, Any]]:
    return [(item, None) if isinstance(item, str) else (item[0], item[1]) for item in queries]


class OfflineGeocoder(Geocoder):
    """Region centroid geocoder: pure, instant, precision = the deepest region's level.

    `resolve(query)` may supply a region hint when the caller gives none (for
    example `lambda text: parse_address(text, index)`).
    """

    def __init__(self, resolve: Any = None) -> None:
        self._resolve = resolve

    def geocode(self, query: str, *, region_hint: Any = None) -> GeocodeResult | None:
        if region_hint is None and self._resolve is not None and query:
            region_hint = self._resolve(query)
        return offline_result(region_hint)


# --- precision from a provider's raw answer -------------------------------------------------

P = GeocodePrecision
# Nominatim `addresstype` (and `type` of class "place"/"boundary"), finest to coarsest.
_NOMINATIM_PRECISION = {
    **dict.fromkeys(("house", "house_number", "house_name", "building", "entrance"), P.ROOFTOP),
    **dict.fromkeys(
        (
            "road",
            "street",
            "residential",
            "city_block",
            "neighbourhood",
            "quarter",
            "suburb",
            "subdivision",
            "allotments",
            "village",
            "hamlet",
            "croft",
            "isolated_dwelling",
            "farm",
            "town",
            "industrial",
            "commercial",
            "retail",
        ),
        P.STREET,
    ),
    **dict.fromkeys(("city_district", "district", "borough", "county", "postcode"), P.DISTRICT),
    **dict.fromkeys(("city", "municipality", "state_district"), P.CITY),
    **dict.fromkeys(("state", "province", "region"), P.PROVINCE),
    **dict.fromkeys(("country", "continent"), P.COUNTRY),
}
# Nominatim classes whose objects are points of interest: the answer is the place itself.
_NOMINATIM_POI_CLASSES = frozenset(
    (
        "building",
        "amenity",
        "shop",
        "office",
        "tourism",
        "leisure",
        "craft",
        "emergency",
        "historic",
        "man_made",
        "aeroway",
        "railway",
        "club",
        "healthcare",
    )
)
# AMap (国家 … 门牌号) and Baidu (国家 … 门址) `level`; other Baidu levels are POI categories.
_LEVEL_PRECISION = {
    "国家": P.COUNTRY,
    "省": P.PROVINCE,
    "省份": P.PROVINCE,
    "市": P.CITY,
    "城市": P.CITY,
    "区县": P.DISTRICT,
    "开发区": P.DISTRICT,
    **dict.fromkeys(
        (
            "乡镇",
            "村庄",
            "热点商圈",
            "商圈",
            "道路",
            "道路交叉路口",
            "交叉路口",
            "公交站台、地铁站",
            "未知",
            "UNKNOWN",
        ),
        P.STREET,
    ),
    **dict.fromkeys(("兴趣点", "门牌号", "单元号", "楼栋", "门址"), P.ROOFTOP),
}


def _precision_from_rank(rank: int) -> GeocodePrecision:
    # Nominatim place_rank: 4 country, 5-9 state, 10-11 prefecture, 12-16 county/city,
    # 17-27 town … street, 28-30 house and POI.
    for limit, precision in ((4, P.COUNTRY), (9, P.PROVINCE), (11, P.CITY), (16, P.DISTRICT), (27, P.STREET)):
        if rank <= limit:
            return precision
    return P.ROOFTOP


def precision_from_raw(raw: Mapping[str, Any] | None) -> GeocodePrecision:
    """How precise a provider's answer is, from its raw JSON (STREET for a bare point)."""
    if not raw:
        return P.STREET
    level = raw.get("level")
    if isinstance(level, str) and level:  # AMap, Baidu
        if level in _LEVEL_PRECISION:
            return _LEVEL_PRECISION[level]
        return P.ROOFTOP if raw.get("precise") == 1 else P.STREET  # Baidu POI category
    for key in ("addresstype", "type"):
        value = raw.get(key)
        if value in _NOMINATIM_PRECISION and (
            key == "addresstype" or raw.get("class") in ("place", "boundary")
        ):
            return _NOMINATIM_PRECISION[value]
    if raw.get("class") in _NOMINATIM_POI_CLASSES:
        return P.ROOFTOP
    if raw.get("class") == "highway":
        return P.STREET
    rank = raw.get("place_rank")
    if rank is not None:
        try:
            return _precision_from_rank(int(rank))
        except (TypeError, ValueError):
            pass
    return P.STREET


# --- AMap, which geopy does not ship ----------------------------------------------------------

_AMAP_QUOTA = frozenset(
    {"10003", "10004", "10010", "10014", "10019", "10020", "10021", "10029", "10044", "10045"}
)
_AMAP_AUTH = frozenset({"10001", "10005", "10006", "10007", "10008", "10009", "10013"})
_AMAP_PRIVILEGES = frozenset({"10002", "10011", "10012"})


class AMap(GeopyBaseGeocoder):
    """AMap (高德) web-service geocoding as a geopy geocoder; answers are GCJ-02.

    API: https://lbs.amap.com/api/webservice/guide/api/georegeo
    """

    geocode_path = "/v3/geocode/geo"

    def __init__(
        self,
        api_key: str,
        *,
        domain: str = "restapi.amap.com",
        scheme: str | None = None,
        timeout: Any = DEFAULT_SENTINEL,
        proxies: Any = DEFAULT_SENTINEL,
        user_agent: str | None = None,
        ssl_context: Any = DEFAULT_SENTINEL,
        adapter_factory: Any = None,
    ) -> None:
        super().__init__(
            scheme=scheme,
            timeout=timeout,
            proxies=proxies,
            user_agent=user_agent,
            ssl_context=ssl_context,
            adapter_factory=adapter_factory,
        )
        self.api_key = api_key
        self.api = f"{self.scheme}://{domain.strip('/')}{self.geocode_path}"

    def geocode(
        self, query: str, *, exactly_one: bool = True, timeout: Any = DEFAULT_SENTINEL, city: str = ""
    ):
        params = {"key": self.api_key, "address": query, "output": "JSON"}
        if city:
            params["city"] = city
        url = f"{self.api}?{urlencode(params)}"
        return self._call_geocoder(url, partial(self._parse_json, exactly_one=exactly_one), timeout=timeout)

    def _parse_json(self, page: Mapping[str, Any], exactly_one: bool = True):
        if str(page.get("status")) != "1":
            self._raise_for(page)
        places = page.get("geocodes") or []
        locations = [self._parse_place(place) for place in places if place.get("location")]
        if not locations:
            return None
        return locations[0] if exactly_one else locations

    @staticmethod
    def _parse_place(place: Mapping[str, Any]) -> Location:
        lng, lat = (float(v) for v in place["location"].split(","))
        # AMap sends [] instead of "" for empty fields.
        address = place.get("formatted_address")
        return Location(address if isinstance(address, str) else "", (lat, lng), dict(place))

    @staticmethod
    def _raise_for(page: Mapping[str, Any]) -> None:
        code, info = str(page.get("infocode", "")), str(page.get("info", ""))
        message = f"AMap {code}: {info}"
        if code in _AMAP_QUOTA:
            raise GeocoderQuotaExceeded(message)
        if code in _AMAP_AUTH:
            raise GeocoderAuthenticationFailure(message)
        if code in _AMAP_PRIVILEGES:
            raise GeocoderInsufficientPrivileges(message)
        if code == "10015":
            raise GeocoderTimedOut(message)
        if code in ("10016", "10017"):
            raise GeocoderUnavailable(message)
        if code.startswith("2") or code == "10026":
            raise GeocoderQueryError(message)
        raise GeocoderServiceError(message)


_EXTRA_GEOCODERS = {"amap": AMap, "gaode": AMap}
# Coordinate systems some providers always answer in, whatever the settings say by default.
PROVIDER_CRS = {
    "amap": CoordinateSystem.GCJ02,
    "gaode": CoordinateSystem.GCJ02,
    "baidu": CoordinateSystem.BD09,
    "baiduv3": CoordinateSystem.BD09,
}


def geopy_geocoder_class(provider: str) -> type[GeopyBaseGeocoder]:
    """The geopy geocoder class for a provider name (geopy's names, plus amap/gaode)."""
    name = provider.strip().lower()
    if name in _EXTRA_GEOCODERS:
        return _EXTRA_GEOCODERS[name]
    return get_geocoder_for_service(name)


# --- the online geocoder ----------------------------------------------------------------------


class _NoRetry(Exception):
    """Carries an error geopy's RateLimiter must not retry (quota, credentials, bad query)."""

    def __init__(self, error: GeopyError) -> None:
        super().__init__(str(error))
        self.error = error


_PERMANENT_ERRORS = (
    GeocoderQuotaExceeded,
    GeocoderAuthenticationFailure,
    GeocoderInsufficientPrivileges,
    GeocoderQueryError,
)


def _fallback_reason(error: BaseException) -> str:
    if isinstance(error, GeocoderQuotaExceeded):
        return "quota"
    if isinstance(error, GeocoderTimedOut):
        return "timeout"
    if isinstance(error, GeocoderUnavailable):
        return "unavailable"
    if isinstance(error, (GeocoderAuthenticationFailure, GeocoderInsufficientPrivileges)):
        return "auth"
    return "error"


def normalize_query(query: str) -> str:
    """The cache's view of a query: NFKC, case-folded, single spaces."""
    return " ".join(unicodedata.normalize("NFKC", query).casefold().split())


_MISS = object()
_NO_MATCH = "no-match"  # cached marker: the provider answered, but found nothing


class GeopyGeocoder(Geocoder):
    """An online provider through geopy: rate limited, retried, cached, converted to
    WGS-84, and falling back to the offline centroid on any failure.

    The result is the finer of the provider's answer and the offline centroid, so a
    provider that only recognised the country never beats a known district.
    """

    def __init__(
        self,
        provider: str,
        *,
        api_key: str = "",
        domain: str = "",
        scheme: str = "https",
        user_agent: str = "dizhi-crm",
        rate_limit_per_second: float = 1.0,
        timeout: float = 5.0,
        retries: int = 2,
        error_wait_seconds: float = 1.0,
        cache_timeout: int | None = 60 * 60 * 24 * 30,
        crs: str = "",
        cache_alias: str = "default",
        quota_pause_seconds: float = 60.0,
        fallback: Geocoder | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> None:
        self.provider = provider.strip().lower()
        geocoder_class = geopy_geocoder_class(self.provider)
        declared = (crs or CoordinateSystem.WGS84).lower()
        if declared == CoordinateSystem.WGS84 and self.provider in PROVIDER_CRS:
            declared = PROVIDER_CRS[self.provider]  # these never answer in WGS-84
        self.crs = CoordinateSystem(declared)
        self._geopy = geocoder_class(
            **_constructor_kwargs(
                geocoder_class,
                api_key=api_key,
                domain=domain,
                scheme=scheme,
                user_agent=user_agent,
                timeout=timeout,
                options=options or {},
            )
        )
        min_delay = 1.0 / rate_limit_per_second if rate_limit_per_second > 0 else 0.0
        self._rate_limited = RateLimiter(
            self._call_provider,
            min_delay_seconds=min_delay,
            max_retries=max(0, int(retries)),
            error_wait_seconds=max(min_delay, error_wait_seconds),
            swallow_exceptions=False,
        )
        self.fallback = fallback if fallback is not None else OfflineGeocoder()
        self.cache = caches[cache_alias]
        self.cache_timeout = cache_timeout
        self.quota_pause_seconds = quota_pause_seconds
        self._paused_until = 0.0
        endpoint = f"{self.provider}|{domain}|{self.crs}"
        self._key_prefix = "dizhi:geocode:" + hashlib.sha1(endpoint.encode()).hexdigest()[:12] + ":"

    # public interface

    def geocode(self, query: str, *, region_hint: Any = None) -> GeocodeResult | None:
        return self.geocode_many([(query, region_hint)])[0]

    def geocode_many(self, queries: Iterable[str | tuple[str, Any]]) -> list[GeocodeResult | None]:
        pairs = _query_pairs(queries)
        keys = [self.cache_key(query) if normalize_query(query) else None for query, _ in pairs]
        answers: dict[str, Any] = self.cache.get_many([k for k in set(keys) if k]) if any(keys) else {}
        fresh: dict[str, Any] = {}
        results = []
        for (query, hint), key in zip(pairs, keys, strict=True):
            if key is None:
                results.append(self.fallback.geocode(query, region_hint=hint))
                continue
            answer = answers.get(key, _MISS)
            if answer is _MISS:
                try:
                    answer = self._lookup(query)
                except Exception as error:  # any provider failure falls back
                    results.append(self._fall_back(query, hint, error))
                    continue
                answers[key] = fresh[key] = answer
            results.append(self._choose(answer, query, hint))
        if fresh:
            self.cache.set_many(fresh, self.cache_timeout)
        return results

    def cache_key(self, query: str) -> str:
        return self._key_prefix + hashlib.sha256(normalize_query(query).encode()).hexdigest()

    # internals

    def _lookup(self, query: str) -> dict[str, Any] | str:
        """Ask the provider; a cacheable answer (result fields or the no-match marker)."""
        if time.monotonic() < self._paused_until:
            raise GeocoderQuotaExceeded("paused after a quota error")
        try:
            location = self._rate_limited(query)
        except _NoRetry as wrapped:
            if isinstance(wrapped.error, GeocoderQuotaExceeded):
                retry_after = getattr(wrapped.error, "retry_after", None)
                self._paused_until = time.monotonic() + (retry_after or self.quota_pause_seconds)
            raise wrapped.error from None
        if location is None:
            return _NO_MATCH
        lat, lng = to_wgs84(float(location.latitude), float(location.longitude), self.crs)
        raw = location.raw if isinstance(location.raw, Mapping) else {}
        result = GeocodeResult(
            lat=lat,
            lng=lng,
            precision=precision_from_raw(raw),
            source=self.provider,
            region_code=_region_code(raw),
            formatted=location.address or "",
        )
        return asdict(result)

    def _call_provider(self, query: str) -> Location | None:
        try:
            return self._geopy.geocode(query)
        except _PERMANENT_ERRORS as error:
            raise _NoRetry(error) from error

    def _choose(self, answer: Any, query: str, hint: Any) -> GeocodeResult | None:
        offline = self.fallback.geocode(query, region_hint=hint)
        if answer == _NO_MATCH:
            return _relabel(offline, "no match")
        online = GeocodeResult(**{**answer, "precision": GeocodePrecision(answer["precision"])})
        return offline if is_finer(offline, online) else online

    def _fall_back(self, query: str, hint: Any, error: BaseException) -> GeocodeResult | None:
        reason = _fallback_reason(error)
        if isinstance(error, GeopyError):
            logger.warning("Geocoder %s failed (%s): %s", self.provider, reason, error)
        else:
            logger.exception("Geocoder %s failed unexpectedly", self.provider)
        return _relabel(self.fallback.geocode(query, region_hint=hint), reason)


def _relabel(result: GeocodeResult | None, reason: str) -> GeocodeResult | None:
    if result is None:
        return None
    return GeocodeResult(
        lat=result.lat,
        lng=result.lng,
        precision=result.precision,
        source=f"{result.source} (fallback: {reason})",
        region_code=result.region_code,
        formatted=result.formatted,
    )


def _region_code(raw: Mapping[str, Any]) -> str:
    adcode = raw.get("adcode")  # AMap
    return adcode if isinstance(adcode, str) and adcode.isdigit() else ""


def _constructor_kwargs(
    geocoder_class: type,
    *,
    api_key: str,
    domain: str,
    scheme: str,
    user_agent: str,
    timeout: float,
    options: Mapping,
) -> dict[str, Any]:
    """Keyword arguments the given geopy class accepts, from our uniform settings."""
    accepted = inspect.signature(geocoder_class.__init__).parameters
    # The standard library's HTTP client, whether or not `requests` is installed: geopy's requests
    # adapter retries inside urllib3 and reports a read timeout as "unavailable"; this geocoder
    # does its own retries (GEOCODER_RETRIES) and tells a timeout apart.
    wanted: dict[str, Any] = {
        "scheme": scheme,
        "user_agent": user_agent,
        "timeout": timeout,
        "adapter_factory": URLLibAdapter,
    }
    if domain:
        wanted["domain"] = domain
    if api_key:
        for name in ("api_key", "apikey", "key", "username"):
            if name in accepted:
                wanted[name] = api_key
                break
    kwargs = {name: value for name, value in wanted.items() if name in accepted}
    kwargs.update(options)
    return kwargs


# --- the configured geocoder ------------------------------------------------------------------


def get_geocoder() -> Geocoder:
    """The geocoder configured by `settings.GEOCODER` (offline when PROVIDER is empty)."""
    return _build_geocoder(json.dumps(settings.GEOCODER, sort_keys=True, default=str))


@lru_cache(maxsize=8)
def _build_geocoder(conf_json: str) -> Geocoder:
    # One instance per configuration, so its rate limiter is shared by every caller.
    conf = json.loads(conf_json)
    if not conf.get("PROVIDER"):
        return OfflineGeocoder()
    try:
        return GeopyGeocoder(
            conf["PROVIDER"],
            api_key=conf.get("API_KEY", ""),
            domain=conf.get("DOMAIN", ""),
            scheme=conf.get("SCHEME", "https"),
            user_agent=conf.get("USER_AGENT", "dizhi-crm"),
            rate_limit_per_second=float(conf.get("RATE_LIMIT_PER_SECOND", 1.0)),
            timeout=float(conf.get("TIMEOUT", 5.0)),
            retries=int(conf.get("RETRIES", 2)),
            cache_timeout=conf.get("CACHE_TIMEOUT"),
            crs=conf.get("CRS", ""),
        )
    except (ConfigurationError, TypeError, ValueError) as error:
        raise ImproperlyConfigured(f"GEOCODER: {error}") from error


# --- reverse geocoding ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReverseGeocodeResult:
    """The division whose centroid is nearest to a point, with its ancestors."""

    region_code: str
    level: str
    name: str
    chain: tuple[tuple[str, str], ...]  # (level, code) from the top (country) down
    distance_km: float

    def code_at(self, level: str) -> str:
        return next((code for lvl, code in self.chain if lvl == level), "")

    @property
    def country_code(self) -> str:
        return self.code_at(RegionLevel.COUNTRY)

    @property
    def province_code(self) -> str:
        return self.code_at(RegionLevel.PROVINCE)

    @property
    def city_code(self) -> str:
        return self.code_at(RegionLevel.CITY)

    @property
    def district_code(self) -> str:
        return self.code_at(RegionLevel.DISTRICT)


class ReverseGeocoder:
    """Offline lat/lng (WGS-84) → nearest leaf division by centroid.

    Leaves are active regions with a measured centroid and no such children:
    districts, and cities or provinces that have none below them. They are bucketed in a grid
    of `cell_degrees` cells; a lookup scans rings of cells outwards until no closer
    centroid can remain, so it touches a few dozen candidates.
    """

    def __init__(self, records: Iterable[Any], *, cell_degrees: float = 0.5, max_rings: int = 16) -> None:
        active = [r for r in records if getattr(r, "is_active", True)]
        by_code = {r.code: r for r in active}
        # An estimated centroid (often the parent's) would capture points near the parent's
        # centre, so such regions are left out here; forward geocoding still uses them.
        located = [
            r
            for r in active
            if r.lat is not None and r.lng is not None and not getattr(r, "centroid_estimated", False)
        ]
        located_parents = {r.parent_code for r in located if r.parent_code}
        self.cell = cell_degrees
        self.max_rings = max_rings
        self._leaves: list[tuple[float, float, Any, tuple[tuple[str, str], ...]]] = []
        self._vectors: list[tuple[float, float, float]] = []
        self._grid: dict[tuple[int, int], list[int]] = {}
        self._below: dict[str, list[int]] = {}
        for record in located:
            if record.code in located_parents:
                continue
            index = len(self._leaves)
            self._leaves.append((float(record.lat), float(record.lng), record, _chain(record, by_code)))
            self._vectors.append(_unit_vector(float(record.lat), float(record.lng)))
            self._grid.setdefault(self._cell_of(record.lat, record.lng), []).append(index)

    @classmethod
    def from_bundled_data(cls) -> ReverseGeocoder:
        """Index the region tables shipped in geo/data."""
        from geo.regiondata import read_region_records

        return cls(read_region_records())

    def __len__(self) -> int:
        return len(self._leaves)

    def reverse(
        self, lat: float, lng: float, *, max_km: float | None = None, within: str = ""
    ) -> ReverseGeocodeResult | None:
        """The nearest leaf division to (lat, lng), or None beyond `max_km` / with no data.

        Without `max_km` a point far from every centroid (open sea, a country the
        tables do not subdivide) still gets the nearest one; check `distance_km`.
        With `within`, only leaves below that region (or the region itself) count.
        """
        if not self._leaves:
            return None
        if within:
            return self._reverse_within(lat, lng, within, max_km)
        scale = math.cos(math.radians(lat))
        ci, cj = self._cell_of(lat, lng)
        best, best_d2 = -1, math.inf
        for ring in range(self.max_rings + 1):
            for cell in _ring_cells(ci, cj, ring):
                for index in self._grid.get(cell, ()):
                    d2 = _equirect_d2(lat, lng, scale, self._leaves[index])
                    if d2 < best_d2:
                        best, best_d2 = index, d2
            # Anything outside this ring is at least `ring` cells away in one axis.
            reach = ring * self.cell * math.cos(math.radians(min(89.9, abs(lat) + (ring + 1) * self.cell)))
            if best >= 0 and reach * reach >= best_d2:
                break
        else:  # nothing settled nearby (open sea, sparse data): scan everything, on the sphere
            x, y, z = _unit_vector(lat, lng)
            best = max(
                range(len(self._leaves)),
                key=lambda i: x * self._vectors[i][0] + y * self._vectors[i][1] + z * self._vectors[i][2],
            )
        leaf_lat, leaf_lng, record, chain = self._leaves[best]
        distance = haversine_km(lat, lng, leaf_lat, leaf_lng)
        if max_km is not None and distance > max_km:
            return None
        return ReverseGeocodeResult(
            region_code=record.code,
            level=str(record.level),
            name=record.name,
            chain=chain,
            distance_km=distance,
        )

    def _cell_of(self, lat: float, lng: float) -> tuple[int, int]:
        return math.floor(lat / self.cell), math.floor(lng / self.cell)

    def _reverse_within(self, lat: float, lng: float, within: str, max_km: float | None):
        """The nearest leaf below `within`: its leaves are few, so they are compared directly."""
        leaves = self._below.get(within)
        if leaves is None:
            leaves = self._below[within] = [
                i for i, leaf in enumerate(self._leaves) if any(code == within for _, code in leaf[3])
            ]
        if not leaves:
            return None
        scale = math.cos(math.radians(lat))
        best = min(leaves, key=lambda i: _equirect_d2(lat, lng, scale, self._leaves[i]))
        leaf_lat, leaf_lng, record, chain = self._leaves[best]
        distance = haversine_km(lat, lng, leaf_lat, leaf_lng)
        if max_km is not None and distance > max_km:
            return None
        return ReverseGeocodeResult(record.code, str(record.level), record.name, chain, distance)


def _equirect_d2(lat: float, lng: float, scale: float, leaf: tuple) -> float:
    dy, dx = leaf[0] - lat, (leaf[1] - lng) * scale
    return dy * dy + dx * dx


def _unit_vector(lat: float, lng: float) -> tuple[float, float, float]:
    phi, lam = math.radians(lat), math.radians(lng)
    return math.cos(phi) * math.cos(lam), math.cos(phi) * math.sin(lam), math.sin(phi)


def _ring_cells(ci: int, cj: int, ring: int) -> Iterable[tuple[int, int]]:
    if ring == 0:
        yield ci, cj
        return
    for dj in range(-ring, ring + 1):
        yield ci - ring, cj + dj
        yield ci + ring, cj + dj
    for di in range(-ring + 1, ring):
        yield ci + di, cj - ring
        yield ci + di, cj + ring


def _chain(record: Any, by_code: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    chain, seen, current = [], set(), record
    while current is not None and current.code not in seen:
        seen.add(current.code)
        chain.append((str(current.level), current.code))
        current = by_code.get(current.parent_code) if current.parent_code else None
    return tuple(reversed(chain))


@lru_cache(maxsize=1)
def get_reverse_geocoder() -> ReverseGeocoder:
    """The reverse geocoder over the bundled region tables, built once per process."""
    return ReverseGeocoder.from_bundled_data()


# --- reverse geocoding by polygon -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Place:
    """What lies at a point: the deepest region found, its chain, and how it was found.

    `method` is "polygon" when the region's own outline holds the point, "centroid" when
    the region is the nearest centroid (inside the outline of `outline_code`, if any);
    `approximate` is True for every centroid answer.
    """

    region_code: str
    level: str
    name: str
    chain: tuple[tuple[str, str], ...]  # (level, code) from the country down
    method: str
    approximate: bool
    outline_code: str = ""
    distance_km: float = 0.0

    def code_at(self, level: str) -> str:
        return next((code for lvl, code in self.chain if lvl == level), "")


class OutlineIndex:
    """Polygons by region code, bucketed by their bounding boxes in a grid of `cell` degrees.

    Outlines are Natural Earth admin-1 polygons simplified to about 1 km (geo/data/
    admin1_outlines.json.gz, built by scripts/build_region_data.py), so a point within about
    a kilometre of a border may fall on either side.
    """

    def __init__(self, outlines: Mapping[str, list], *, cell: float = 1.0) -> None:
        self.cell = cell
        self._polygons: list[tuple[str, list, tuple[float, float, float, float], float]] = []
        self._grid: dict[tuple[int, int], list[int]] = {}
        for code, polygons in outlines.items():
            for polygon in polygons:
                xs = [x for x, _ in polygon[0]]
                ys = [y for _, y in polygon[0]]
                box = (min(xs), min(ys), max(xs), max(ys))
                index = len(self._polygons)
                self._polygons.append((code, polygon, box, (box[2] - box[0]) * (box[3] - box[1])))
                for i in range(math.floor(box[1] / cell), math.floor(box[3] / cell) + 1):
                    for j in range(math.floor(box[0] / cell), math.floor(box[2] / cell) + 1):
                        self._grid.setdefault((i, j), []).append(index)

    @classmethod
    def from_bundled_data(cls) -> OutlineIndex:
        import gzip

        from geo.regiondata import DATA_DIR

        with gzip.open(DATA_DIR / "admin1_outlines.json.gz", "rt", encoding="utf-8") as fh:
            return cls(json.load(fh))

    def __len__(self) -> int:
        return len(self._polygons)

    def containing(self, lat: float, lng: float) -> str:
        """The code of the smallest polygon holding (lat, lng), or ""."""
        found = ""
        best = math.inf
        for index in self._grid.get((math.floor(lat / self.cell), math.floor(lng / self.cell)), ()):
            code, polygon, (x1, y1, x2, y2), area = self._polygons[index]
            if x1 <= lng <= x2 and y1 <= lat <= y2 and area < best and _inside(polygon, lng, lat):
                found, best = code, area
        return found


def _inside(polygon: list, x: float, y: float) -> bool:
    """Even-odd ray casting over the outer ring and its holes."""
    inside = False
    for ring in polygon:
        x1, y1 = ring[-1]
        for x2, y2 in ring:
            if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
                inside = not inside
            x1, y1 = x2, y2
    return inside


class PlaceIndex:
    """Polygons where a maintained source has them, centroids below and elsewhere."""

    def __init__(self, records: Iterable[Any], outlines: OutlineIndex | Mapping[str, list]) -> None:
        records = list(records)
        self.centroids = ReverseGeocoder(records)
        self.outlines = outlines if isinstance(outlines, OutlineIndex) else OutlineIndex(outlines)
        active = {r.code: r for r in records if getattr(r, "is_active", True)}
        self._records = active
        self._children = {r.parent_code for r in active.values() if r.parent_code}

    @classmethod
    def from_bundled_data(cls) -> PlaceIndex:
        from geo.regiondata import read_region_records

        return cls(read_region_records(), OutlineIndex.from_bundled_data())


def reverse_geocode(lat: float, lng: float, index: PlaceIndex) -> Place | None:
    """What lies at (lat, lng) (WGS-84): by polygon where the point falls in one, then the nearest
    centroid below that region (or anywhere, when no polygon holds it), marked approximate."""
    if not (-90 <= lat <= 90 and -180 <= lng <= 180):
        return None
    code = index.outlines.containing(lat, lng)
    record = index._records.get(code)
    if record is not None and code not in index._children:
        return Place(
            code, str(record.level), record.name, _chain(record, index._records), "polygon", False, code
        )
    nearest = index.centroids.reverse(lat, lng, within=code) if record is not None else None
    if nearest is None and record is not None:
        return Place(
            code, str(record.level), record.name, _chain(record, index._records), "polygon", False, code
        )
    if nearest is None:
        nearest = index.centroids.reverse(lat, lng)
        if nearest is None:
            return None
    return Place(
        nearest.region_code,
        nearest.level,
        nearest.name,
        nearest.chain,
        "centroid",
        True,
        code,
        nearest.distance_km,
    )


@lru_cache(maxsize=1)
def get_place_index() -> PlaceIndex:
    """The polygon-and-centroid index over the bundled data, built once per process."""
    return PlaceIndex.from_bundled_data()
