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
