"""Read access to the region index the parser uses.

The index is built once per process. A version number kept in Django's cache
lets every process notice that `load_regions` changed the table and rebuild.
"""

import threading
from functools import cache

from django.core.cache import cache as django_cache

from geo.parsing import RegionIndex
from geo.regiondata import RegionRecord, read_region_records

_VERSION_KEY = "geo:region-index-version"
_lock = threading.Lock()
_built: dict[str, object] = {"version": None, "index": None}


def _records_from_db():
    from geo.models import Region

    rows = Region.objects.values_list(
        "code",
        "parent__code",
        "level",
        "name",
        "short_name",
        "name_en",
        "aliases",
        "lat",
        "lng",
        "centroid_source",
        "centroid_estimated",
        "is_active",
        "successor__code",
    ).order_by("path")
    for row in rows.iterator(chunk_size=5000):
        (
            code,
            parent,
            level,
            name,
            short,
            name_en,
            aliases,
            lat,
            lng,
            source,
            estimated,
            active,
            successor,
        ) = row
        yield RegionRecord(
            code=code,
            parent_code=parent or "",
            level=level,
            name=name,
            short_name=short,
            name_en=name_en,
            aliases=tuple(aliases or ()),
            lat=float(lat) if lat is not None else None,
            lng=float(lng) if lng is not None else None,
            centroid_source=source,
            centroid_estimated=estimated,
            is_active=active,
            successor_code=successor or "",
        )


def region_index() -> RegionIndex:
    """The parser index over every Region row (active and historic), rebuilt after reloads."""
    version = django_cache.get(_VERSION_KEY, 0)
    index = _built["index"]
    if index is not None and _built["version"] == version:
        return index
    with _lock:
        if _built["index"] is None or _built["version"] != version:
            _built["index"] = RegionIndex.from_records(_records_from_db())
            _built["version"] = version
        return _built["index"]


def invalidate_region_index() -> None:
    """Tell every process to rebuild its index (call after changing Region rows)."""
    try:
        django_cache.incr(_VERSION_KEY)
    except ValueError:
        django_cache.set(_VERSION_KEY, 1, timeout=None)
    _built["index"] = None
    _built["version"] = None


@cache
def region_index_from_files() -> RegionIndex:
    """The index over the bundled CSV files, without a database (tests, benchmarks)."""
    return RegionIndex.from_records(read_region_records())


# -- region reads for pages and pickers -------------------------------------------------------


def region_get(*, code: str | None):
    """The region with `code`, or None (no code, or unknown)."""
    from geo.models import Region

    if not code:
        return None
    return Region.objects.filter(code=str(code).strip()[:16]).first()


def region_chain(*, code: str | None) -> list:
    """The region with `code` and its ancestors, country first ([] when unknown)."""
    from geo.models import Region

    region = region_get(code=code)
    if region is None:
        return []
    codes = [c for c in region.path.split("/") if c]
    by_code = {r.code: r for r in Region.objects.filter(code__in=codes)}
    return [by_code[c] for c in codes if c in by_code]


def region_children(*, parent=None) -> list:
    """Active regions directly under `parent` (countries when None), in picker order:
    China first (the CRM's home), then countries by the name shown; below a country by code."""
    from geo.models import Region
    from geo.presentation import region_label

    fields = ("pk", "code", "name", "name_en", "level", "parent_id", "lat", "lng")
    if parent is None:
        regions = Region.objects.active().countries().only(*fields)
        return sorted(regions, key=lambda r: (r.code != "CN", region_label(r).lower()))
    return list(Region.objects.active().filter(parent=parent).only(*fields).order_by("code"))


def region_picker_levels(chain: list) -> list[dict]:
    """Options and selection for each cascading region select, from the chosen chain.

    One query for the children of every region in the chain. The countries are a
    callable the template calls only when it renders them: the list page keeps
    their options in a cached fragment, so most requests never load 249 rows.
    """
    from geo.models import Region

    parent_ids = [r.pk for r in chain]
    rows = (
        Region.objects.active()
        .filter(parent_id__in=parent_ids)
        .only("pk", "code", "name", "name_en", "level", "parent_id")
        .order_by("code")
        if parent_ids
        else []
    )
    by_parent: dict[int | None, list] = {}
    for r in rows:
        by_parent.setdefault(r.parent_id, []).append(r)
    levels = [
        {
            "depth": 0,
            "options": lambda: region_children(parent=None),
            "selected": chain[0].code if chain else "",
        }
    ]
    for depth, region in enumerate(chain[:3], start=1):
        options = by_parent.get(region.pk, [])
        if not options:
            break
        selected = chain[depth].code if len(chain) > depth else ""
        levels.append({"depth": depth, "options": options, "selected": selected})
    return levels


def place_at(*, lat: float, lng: float) -> dict | None:
    """What lies at (lat, lng) (WGS-84), for "what is here" on the map and in the API: the
    deepest region found with its chain (names in the current language), found by the
    region's own outline ("polygon") or as the nearest centroid ("centroid", approximate).
    None outside the globe or with no data near."""
    from geo import geocoding
    from geo.models import Region
    from geo.presentation import region_label

    place = geocoding.reverse_geocode(lat, lng, geocoding.get_place_index())
    if place is None:
        return None
    by_code = {r.code: r for r in Region.objects.filter(code__in=[code for _level, code in place.chain])}
    chain = [
        {"level": level, "code": code, "name": region_label(by_code[code]) if code in by_code else code}
        for level, code in place.chain
    ]
    return {
        "region_code": place.region_code,
        "level": place.level,
        "chain": chain,
        "label": " › ".join(c["name"] for c in (chain[1:] if chain and chain[0]["code"] == "CN" else chain)),
        "method": place.method,
        "approximate": place.approximate,
        "distance_km": round(place.distance_km, 1) if place.approximate else 0.0,
    }
