"""Map aggregation: per-address Morton keys, the maintained `MapCell` table, and the
selectors that turn a viewport + zoom + customer filter into clusters, heat cells,
region counts and points.

Three paths, fastest first:

1. everything visible, no filter (managers): sum `MapCell` rows inside the
   viewport, one indexed range per level (zoom <= AGG_MAX_ZOOM);
2. a filter or a sales user's scope at coarse zoom: one GROUP BY over the map
   keys of the whole level, cached per (scope, filter, level, data version) and
   cut to the viewport in Python;
3. anything else: a GROUP BY over the few merged key ranges covering the
   viewport (`geo.mapmath.bbox_key_ranges`), semi-joined to the filtered customers.
"""

import hashlib
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence

from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Avg, Count, F, Min, Q

from addresses.models import Address, MapCell
from geo import mapmath
from geo.mapmath import BBox

CELL_ZOOM_OFFSET = 2  # cluster cells are 64 px: level = zoom + 2
HEAT_ZOOM_OFFSET = 3  # heat cells are 32 px
AGG_LEVELS = range(3, 16)  # grid levels kept in MapCell (clusters up to zoom 13, heat up to 12)
REGION_LEVELS = {"province": 101, "city": 102, "district": 103}
COARSE_CACHE_MAX_LEVEL = 11  # filtered grids cached whole up to zoom 9
POINTS_ZOOM = 17  # from here on, small viewports come back as individual points
MAX_POINTS = 400
CACHE_TTL = 120
VERSION_KEY = "map:data-version"


# --- write path -----------------------------------------------------------------------------


def _grid_rows(lat: float, lng: float, sign: int) -> Iterable[tuple[int, int, int, int, float, float]]:
    x26, y26 = mapmath.cell_xy(lat, lng, mapmath.KEY_LEVEL)
    for level in AGG_LEVELS:
        s = mapmath.KEY_LEVEL - level
        yield level, x26 >> s, y26 >> s, sign, sign * lat, sign * lng


def _address_rows(lat, lng, province_id, city_id, district_id, sign):
    if lat is not None and lng is not None:
        yield from _grid_rows(float(lat), float(lng), sign)
    for level, region_id in ((101, province_id), (102, city_id), (103, district_id)):
        if region_id:
            yield level, region_id, 0, sign, 0.0, 0.0


def map_cells_track(*, created: Sequence[Address], updated: Sequence[Address]) -> None:
    """Set `map_key` on addresses about to be written and move their MapCell counts.

    Called by addresses_save inside its transaction, before the rows are written
    (the old values are still in the database). One query for the old values and
    a few multi-row upserts per batch, whatever its size.
    """
    deltas: dict[tuple[int, int, int], list] = defaultdict(lambda: [0, 0.0, 0.0])

    def add(rows):
        for level, x, y, n, slat, slng in rows:
            d = deltas[level, x, y]
            d[0] += n
            d[1] += slat
            d[2] += slng

    for a in created:
        a.map_key = mapmath.map_key(a.lat, a.lng)
        add(_address_rows(a.lat, a.lng, a.province_id, a.city_id, a.district_id, 1))
    if updated:
        old = {
            row[0]: row[1:]
            for row in Address.objects.filter(pk__in=[a.pk for a in updated]).values_list(
                "pk", "lat", "lng", "province_id", "city_id", "district_id"
            )
        }
        for a in updated:
            before = old.get(a.pk)
            after = (a.lat, a.lng, a.province_id, a.city_id, a.district_id)
            a.map_key = mapmath.map_key(a.lat, a.lng)
            if before is None or _same(before, after):
                continue
            add(_address_rows(*before, -1))
            add(_address_rows(*after, 1))
    rows = [(k[0], k[1], k[2], d[0], d[1], d[2]) for k, d in deltas.items() if d[0]]
    if rows:
        _upsert(rows)
        map_data_changed()


def _same(before, after) -> bool:
    def f(v):
        return None if v is None else round(float(v), 6)

    return (f(before[0]), f(before[1]), *before[2:]) == (f(after[0]), f(after[1]), *after[2:])


def _upsert(rows: list[tuple], chunk: int = 1000) -> None:
    """Add counts and sums to cells, creating them as needed (sorted: no deadlocks)."""
    rows.sort()
    table = MapCell._meta.db_table
    with connection.cursor() as cursor:
        for i in range(0, len(rows), chunk):
            part = rows[i : i + chunk]
            values = ",".join(["(%s,%s,%s,%s,%s,%s)"] * len(part))
            params = [v for row in part for v in row]
            cursor.execute(
                f"INSERT INTO {table} (level, x, y, count, lat_sum, lng_sum) VALUES {values} "  # noqa: S608
                f"ON CONFLICT (level, x, y) DO UPDATE SET count = {table}.count + excluded.count, "
                f"lat_sum = {table}.lat_sum + excluded.lat_sum, lng_sum = {table}.lng_sum + excluded.lng_sum",
                params,
            )


def map_data_changed() -> None:
    """Invalidate cached filtered aggregates once the transaction commits."""

    def bump():
        try:
            cache.incr(VERSION_KEY)
        except ValueError:
            cache.set(VERSION_KEY, 1, None)

    transaction.on_commit(bump)


def _data_version() -> int:
    return cache.get_or_set(VERSION_KEY, 1, None)


@transaction.atomic
def map_cells_rebuild(*, address_model=Address, cell_model=MapCell, batch: int = 20000) -> int:
    """Recompute every address's map key and the whole MapCell table; returns cells written.

    For migrations and repairs (e.g. after customers were deleted, which cascades
    past the write path).
    """
    last = 0
    while True:
        chunk = list(
            address_model.objects.filter(pk__gt=last)
            .order_by("pk")
            .values_list("pk", "lat", "lng", "map_key")[:batch]
        )
        if not chunk:
            break
        last = chunk[-1][0]
        changed = []
        for pk, lat, lng, old in chunk:
            key = mapmath.map_key(lat, lng)
            if key != old:
                changed.append(address_model(pk=pk, map_key=key))
        if changed:
            address_model.objects.bulk_update(changed, ["map_key"], batch_size=2000)
    cell_model.objects.all().delete()
    rows = []
    located = address_model.objects.filter(map_key__isnull=False).order_by()
    for level in AGG_LEVELS:
        grouped = (
            located.annotate(cell=F("map_key").bitrightshift(mapmath.key_shift(level)))
            .values("cell")
            .annotate(n=Count("pk"), lat=Avg("lat"), lng=Avg("lng"))
            .values_list("cell", "n", "lat", "lng")
        )
        for code, n, lat, lng in grouped:
            x, y = mapmath.unmorton(code)
            rows.append((level, x, y, n, float(lat) * n, float(lng) * n))
    for field, level in REGION_LEVELS.items():
        grouped = (
            address_model.objects.filter(**{f"{field}__isnull": False})
            .order_by()
            .values(field)
            .annotate(n=Count("pk"))
            .values_list(field, "n")
        )
        rows += [(level, region_id, 0, n, 0.0, 0.0) for region_id, n in grouped]
    cell_model.objects.bulk_create(
        [cell_model(level=r[0], x=r[1], y=r[2], count=r[3], lat_sum=r[4], lng_sum=r[5]) for r in rows],
        batch_size=5000,
    )
    if cell_model is MapCell:
        map_data_changed()
    return len(rows)


# --- reads ----------------------------------------------------------------------------------


def cluster_level(zoom: int) -> int:
    return max(0, min(mapmath.KEY_LEVEL, zoom + CELL_ZOOM_OFFSET))


def _scope_key(scope: str, level: int, kind: str) -> str:
    digest = hashlib.sha256(scope.encode()).hexdigest()[:24]
    return f"map:{kind}:{_data_version()}:{level}:{digest}"


def _ranges_q(ranges: Sequence[tuple[int, int]]) -> Q:
    q = Q()
    for lo, hi in ranges:
        q |= Q(map_key__gte=lo, map_key__lt=hi)
    return q


def _filtered_addresses(customers):
    """Located addresses of `customers` (None: every customer, no semi-join)."""
    qs = Address.objects.filter(map_key__isnull=False).order_by()
    if customers is not None:
        qs = qs.filter(customer_id__in=customers.order_by().values("pk"))
    return qs


def _grid_from_addresses(addresses, level: int) -> list[tuple[int, int, float, float, int]]:
    """(code, count, lat, lng, some address id) per cell of `level`."""
    rows = (
        addresses.annotate(cell=F("map_key").bitrightshift(mapmath.key_shift(level)))
        .values("cell")
        .annotate(n=Count("pk"), lat=Avg("lat"), lng=Avg("lng"), one=Min("pk"))
        .values_list("cell", "n", "lat", "lng", "one")
    )
    return [(c, n, float(la), float(ln), one) for c, n, la, ln, one in rows]


def _grid_from_cells(bbox: BBox, level: int) -> list[tuple[int, int, float, float, None]]:
    x0, y0 = mapmath.cell_xy(bbox.north, bbox.west, level)
    x1, y1 = mapmath.cell_xy(bbox.south, bbox.east, level)
    rows = MapCell.objects.filter(
        level=level, x__gte=x0, x__lte=x1, y__gte=y0, y__lte=y1, count__gt=0
    ).values_list("x", "y", "count", "lat_sum", "lng_sum")
    return [(mapmath.morton(x, y), n, slat / n, slng / n, None) for x, y, n, slat, slng in rows]


def grid(*, customers, scope: str | None, bbox: BBox, level: int) -> list[tuple]:
    """Cells of `level` inside `bbox`: (code, count, lat, lng, address id or None).

    `customers` None with `scope` None means "every address" (the MapCell path);
    otherwise `scope` names the filter for caching.
    """
    if customers is None and level in AGG_LEVELS:
        return _grid_from_cells(bbox, level)
    if level <= COARSE_CACHE_MAX_LEVEL:
        key = _scope_key(scope or "all", level, "grid")
        cells = cache.get(key)
        if cells is None:
            cells = _grid_from_addresses(_filtered_addresses(customers), level)
            cache.set(key, cells, CACHE_TTL)
        return [c for c in cells if bbox.contains(c[2], c[3])]
    ranges = mapmath.bbox_key_ranges(bbox)
    return _grid_from_addresses(_filtered_addresses(customers).filter(_ranges_q(ranges)), level)


def singleton_ids(*, customers, cells: Sequence[tuple], level: int, limit: int = MAX_POINTS) -> list[int]:
    """Address ids of cells holding one address (resolving MapCell rows, which carry no id)."""
    ids = [c[4] for c in cells if c[1] == 1 and c[4] is not None]
    unknown = [c[0] for c in cells if c[1] == 1 and c[4] is None][:limit]
    if unknown and customers is None and connection.vendor == "postgresql":
        # One index range probe per cell (a join to the ranges), not a planner-heavy OR of hundreds.
        ranges = [mapmath.cell_key_range(code, level) for code in unknown]
        table = Address._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT (SELECT a.id FROM {table} a WHERE a.map_key >= r.lo AND a.map_key < r.hi "  # noqa: S608
                f"ORDER BY a.map_key LIMIT 1) FROM unnest(%s::bigint[], %s::bigint[]) AS r(lo, hi)",
                [[lo for lo, _hi in ranges], [hi for _lo, hi in ranges]],
            )
            ids += [row[0] for row in cursor.fetchall() if row[0] is not None]
    elif unknown:
        q = _ranges_q([mapmath.cell_key_range(code, level) for code in unknown])
        ids += list(_filtered_addresses(customers).filter(q).values_list("pk", flat=True)[:limit])
    return ids[:limit]


def points_in_bbox(*, customers, bbox: BBox, limit: int) -> list[int] | None:
    """Ids of every located address in `bbox`, or None when there are more than `limit`."""
    qs = _filtered_addresses(customers).filter(_ranges_q(mapmath.bbox_key_ranges(bbox)))
    qs = qs.filter(lat__gte=bbox.south, lat__lte=bbox.north, lng__gte=bbox.west, lng__lte=bbox.east)
    ids = list(qs.values_list("pk", flat=True)[: limit + 1])
    return None if len(ids) > limit else ids


def region_counts(*, customers, scope: str | None, level_name: str) -> dict[int, int]:
    """{region id: number of addresses} at one level (province, city or district)."""
    if customers is None:
        return dict(
            MapCell.objects.filter(level=REGION_LEVELS[level_name], count__gt=0).values_list("x", "count")
        )
    key = _scope_key(scope or "all", REGION_LEVELS[level_name], "regions")
    counts = cache.get(key)
    if counts is None:
        qs = Address.objects.filter(
            customer_id__in=customers.order_by().values("pk"), **{f"{level_name}__isnull": False}
        ).order_by()
        counts = dict(qs.values(level_name).annotate(n=Count("pk")).values_list(level_name, "n"))
        cache.set(key, counts, CACHE_TTL)
    return counts


def region_level_for_zoom(zoom: int) -> str:
    if zoom <= 5:
        return "province"
    if zoom <= 8:
        return "city"
    return "district"


def round_coord(v: float) -> float:
    return round(v, 5) if math.isfinite(v) else 0.0
