"""What the map shows: clusters, heat cells, region counts and points for a viewport, zoom
and customer filter, read from the maintained cells when a sum of them says it.

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
from collections.abc import Sequence
from typing import NamedTuple

from django.core.cache import cache
from django.db import connection, connections
from django.db.models import Avg, Count, F, Min, Q
from django.db.models.expressions import RawSQL
from django.http import Http404

from addresses.freshness import addresses_data_version
from addresses.models import Address, address_line
from crm.roles import is_manager
from customers.filtersets import CustomerFilterSet
from customers.models import Customer
from geo import mapmath
from geo.coords import haversine_km
from geo.mapmath import BBox
from geo.models import Region
from geo.presentation import region_label
from maps.cells import AGG_LEVELS, REGION_LEVELS, SCOPED_LEVELS
from maps.models import MapCell
from maps.scoping import address_where, map_scope_terms

CELL_ZOOM_OFFSET = 2  # cluster cells are 64 px: level = zoom + 2
HEAT_ZOOM_OFFSET = 3  # heat cells are 32 px
COARSE_CACHE_MAX_LEVEL = 11  # filtered grids cached whole up to zoom 9
POINTS_ZOOM = 17  # from here on, small viewports come back as individual points
MAX_POINTS = 400
CACHE_TTL = 120


def cluster_level(zoom: int) -> int:
    return max(0, min(mapmath.KEY_LEVEL, zoom + CELL_ZOOM_OFFSET))


def _scope_key(scope: str, level: int, kind: str) -> str:
    digest = hashlib.sha256(scope.encode()).hexdigest()[:24]
    return f"map:{kind}:{addresses_data_version()}:{level}:{digest}"


def _ranges_q(ranges: Sequence[tuple[int, int]]) -> Q:
    q = Q()
    for lo, hi in ranges:
        q |= Q(map_key__gte=lo, map_key__lt=hi)
    return q


def _filtered_addresses(customers, where: Q | None = None):
    """Located addresses of `customers` (None: every customer, no semi-join).

    `where`, when given, says the same over the addresses' own columns (copies of the
    customer's stage / kind / owner), so PostgreSQL reads one covering index instead
    of semi-joining a million customers.
    """
    qs = Address.objects.filter(map_key__isnull=False).order_by()
    if where is not None:
        return qs.filter(where)
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


def _grid_from_cells(
    bbox: BBox, level: int, terms: Sequence[tuple[str, int]] = (("", 1),)
) -> list[tuple[int, int, float, float, None]]:
    """Cells of `level` inside `bbox` from MapCell: the signed sum of the scopes in `terms`."""
    x0, y0 = mapmath.cell_xy(bbox.north, bbox.west, level)
    x1, y1 = mapmath.cell_xy(bbox.south, bbox.east, level)
    box = MapCell.objects.filter(level=level, x__gte=x0, x__lte=x1, y__gte=y0, y__lte=y1)
    if len(terms) == 1 and terms[0][1] == 1:
        rows = box.filter(scope=terms[0][0], count__gt=0).values_list("x", "y", "count", "lat_sum", "lng_sum")
        return [(mapmath.morton(x, y), n, slat / n, slng / n, None) for x, y, n, slat, slng in rows]
    signs = dict(terms)
    summed: dict[tuple[int, int], list] = {}
    for scope, x, y, n, slat, slng in box.filter(scope__in=list(signs)).values_list(
        "scope", "x", "y", "count", "lat_sum", "lng_sum"
    ):
        sign = signs[scope]
        d = summed.setdefault((x, y), [0, 0.0, 0.0])
        d[0] += sign * n
        d[1] += sign * slat
        d[2] += sign * slng
    return [
        (mapmath.morton(x, y), n, slat / n, slng / n, None)
        for (x, y), (n, slat, slng) in summed.items()
        if n > 0
    ]


def grid(
    *,
    customers,
    scope: str | None,
    bbox: BBox,
    level: int,
    where: Q | None = None,
    terms: Sequence[tuple[str, int]] | None = None,
) -> list[tuple]:
    """Cells of `level` inside `bbox`: (code, count, lat, lng, address id or None).

    `customers` None with `scope` None means "every address" (the MapCell path);
    otherwise `scope` names the filter for caching, and `terms` (see `map_scope_terms`),
    when given, say the same as a signed sum of scoped MapCell rows.
    """
    if customers is None and level in AGG_LEVELS:
        return _grid_from_cells(bbox, level)
    if terms is not None and level in SCOPED_LEVELS:
        return _grid_from_cells(bbox, level, terms)
    if level <= COARSE_CACHE_MAX_LEVEL:
        key = _scope_key(scope or "all", level, "grid")
        cells = cache.get(key)
        if cells is None:
            cells = _grid_from_addresses(_filtered_addresses(customers, where), level)
            cache.set(key, cells, CACHE_TTL)
        return [c for c in cells if bbox.contains(c[2], c[3])]
    ranges = mapmath.bbox_key_ranges(bbox)
    if connection.vendor != "postgresql" or len(ranges) == 1:
        return _grid_from_addresses(_filtered_addresses(customers, where).filter(_ranges_q(ranges)), level)
    return _grid_from_ranges(_filtered_addresses(customers, where), ranges, level)


def _grid_from_ranges(addresses, ranges: Sequence[tuple[int, int]], level: int) -> list[tuple]:
    """`_grid_from_addresses` as one UNION ALL of a GROUP BY per key range.

    An OR of ranges makes PostgreSQL use a bitmap scan, which always reads the
    table; one range per branch lets each be an index-only scan of the covering
    map index. A cell cut by two ranges comes back twice and is merged here.
    """
    parts = [
        addresses.filter(map_key__gte=lo, map_key__lt=hi)
        .annotate(cell=F("map_key").bitrightshift(mapmath.key_shift(level)))
        .values("cell")
        .annotate(n=Count("pk"), lat=Avg("lat"), lng=Avg("lng"), one=Min("pk"))
        .values_list("cell", "n", "lat", "lng", "one")
        for lo, hi in ranges
    ]
    merged: dict[int, list] = {}
    for code, n, lat, lng, one in parts[0].union(*parts[1:], all=True).order_by():
        m = merged.get(code)
        if m is None:
            merged[code] = [n, float(lat) * n, float(lng) * n, one]
        else:
            m[0] += n
            m[1] += float(lat) * n
            m[2] += float(lng) * n
            m[3] = min(m[3], one)
    return [(code, n, slat / n, slng / n, one) for code, (n, slat, slng, one) in merged.items()]


def singleton_ids(
    *, customers, cells: Sequence[tuple], level: int, limit: int = MAX_POINTS, where: Q | None = None
) -> list[int]:
    """Address ids of cells holding one address (resolving MapCell rows, which carry no id)."""
    ids = [c[4] for c in cells if c[1] == 1 and c[4] is not None]
    unknown = [c[0] for c in cells if c[1] == 1 and c[4] is None][:limit]
    if unknown and customers is not None and level in AGG_LEVELS:
        unknown = _cheap_to_probe(unknown, level)
    if unknown and (customers is None or where is not None) and connection.vendor == "postgresql":
        # One index range probe per cell (a join to the ranges), not a planner-heavy OR of hundreds.
        ranges = [mapmath.cell_key_range(code, level) for code in unknown]
        probe = Address.objects.filter(map_key__gte=RawSQL("r.lo", []), map_key__lt=RawSQL("r.hi", []))
        if where is not None:
            probe = probe.filter(where)
        sql, params = probe.order_by("map_key").values("pk")[:1].query.sql_with_params()
        with connections[probe.db].cursor() as cursor:  # the replica on map pages
            cursor.execute(
                f"SELECT ({sql}) FROM unnest(%s::bigint[], %s::bigint[]) AS r(lo, hi)",  # noqa: S608
                [*params, [lo for lo, _hi in ranges], [hi for _lo, hi in ranges]],
            )
            ids += [row[0] for row in cursor.fetchall() if row[0] is not None]
    elif unknown:
        q = _ranges_q([mapmath.cell_key_range(code, level) for code in unknown])
        ids += list(_filtered_addresses(customers, where).filter(q).values_list("pk", flat=True)[:limit])
    return ids[:limit]


PROBE_MAX_ROWS = 500  # addresses a filtered singleton search may walk, per response


def _cheap_to_probe(codes: list[int], level: int) -> list[int]:
    """The filtered singleton cells whose search walks few addresses: a cell with one
    filtered address may hold thousands of others. The rest stay "1" bubbles until zoomed in."""
    xy = [mapmath.unmorton(code) for code in codes]
    xs, ys = [x for x, _y in xy], [y for _x, y in xy]
    everyone = dict(
        ((x, y), n)
        for x, y, n in MapCell.objects.filter(
            scope="", level=level, x__gte=min(xs), x__lte=max(xs), y__gte=min(ys), y__lte=max(ys)
        ).values_list("x", "y", "count")
    )
    chosen, walked = [], 0
    for n, code in sorted((everyone.get(p, 0), code) for p, code in zip(xy, codes)):
        walked += n
        if walked > PROBE_MAX_ROWS:
            break
        chosen.append(code)
    return chosen


def points_in_bbox(*, customers, bbox: BBox, limit: int, where: Q | None = None) -> list[int] | None:
    """Ids of every located address in `bbox`, or None when there are more than `limit`."""
    qs = _filtered_addresses(customers, where).filter(_ranges_q(mapmath.bbox_key_ranges(bbox)))
    qs = qs.filter(lat__gte=bbox.south, lat__lte=bbox.north, lng__gte=bbox.west, lng__lte=bbox.east)
    ids = list(qs.values_list("pk", flat=True)[: limit + 1])
    return None if len(ids) > limit else ids


def region_counts(*, customers, scope: str | None, level_name: str, where: Q | None = None) -> dict[int, int]:
    """{region id: number of addresses} at one level (province, city or district)."""
    if customers is None:
        return dict(
            MapCell.objects.filter(level=REGION_LEVELS[level_name], count__gt=0).values_list("x", "count")
        )
    key = _scope_key(scope or "all", REGION_LEVELS[level_name], "regions")
    counts = cache.get(key)
    if counts is None:
        qs = Address.objects.filter(**{f"{level_name}__isnull": False}).order_by()
        qs = (
            qs.filter(where)
            if where is not None
            else qs.filter(customer_id__in=customers.order_by().values("pk"))
        )
        counts = dict(qs.values(level_name).annotate(n=Count("pk")).values_list(level_name, "n"))
        cache.set(key, counts, CACHE_TTL)
    return counts


def region_level_for_zoom(zoom: int) -> str:
    if zoom <= 5:
        return "province"
    if zoom <= 8:
        return "city"
    return "district"


# --- the filter of one request ---------------------------------------------------------------

FILTER_PARAMS = (
    "q", "region", "kind", "stage", "owner", "category", "located",
    "created_after", "created_before", "updated_after", "updated_before",
)  # fmt: skip


class MapFilter(NamedTuple):
    """One request's customers, said every way the map can use it."""

    customers: object  # a Customer queryset, or None for "every customer" (a manager, no filter)
    scope: str | None  # the cache scope: who asks and with which filter
    where: Q | None  # the same as a condition on the addresses' own columns, when one says it
    terms: list[tuple[str, int]] | None  # the same as a signed sum of MapCell scopes, when one says it


def map_filter(*, user, params) -> MapFilter:
    """The customers `user` sees (Customer.objects.visible_to) filtered by the customer list's
    parameters (CustomerFilterSet), restated over address copies and cell scopes where it can be."""
    active = {k for k in FILTER_PARAMS if any(v.strip() for v in params.getlist(k))}
    if is_manager(user) and not active:
        return MapFilter(None, None, None, None)
    filterset = CustomerFilterSet(params, queryset=Customer.objects.visible_to(user))
    valid = filterset.is_valid()
    customers = filterset.qs if valid else Customer.objects.none()
    who = "m" if is_manager(user) else f"u{user.pk}"
    scope = f"{who}|{sorted((k, v) for k in FILTER_PARAMS for v in params.getlist(k) if v.strip())}"
    where = terms = None
    if valid and user.is_active:
        filters = {k: filterset.form.cleaned_data.get(k) for k in active}
        where = address_where(user=user, filters=filters)
        terms = map_scope_terms(user=user, filters=filters)
    return MapFilter(customers, scope, where, terms)


# --- points, nearby, drawn selections, route stops ---------------------------------------------


def map_points(address_ids, *, origin: tuple[float, float] | None = None) -> list[dict]:
    """Popup-ready points (customer name, one-line address, category ids) for addresses,
    with the distance in km from `origin` when given.

    Plain rows, not model instances: hundreds of points per response.
    """
    if not address_ids:
        return []
    rows = list(
        Address.objects.filter(pk__in=list(address_ids))
        .order_by()
        .values_list(
            "pk",
            "customer_id",
            "customer__name",
            "lat",
            "lng",
            "detail",
            "raw_text",
            "country__code",
            "country__name",
            "province__name",
            "city__name",
            "district__name",
        )  # fmt: skip
    )
    cats: dict[int, list[int]] = {}
    for address_id, category_id in Address.categories.through.objects.filter(
        address_id__in=list(address_ids)
    ).values_list("address_id", "addresscategory_id"):
        cats.setdefault(address_id, []).append(category_id)
    out = []
    for pk, customer_id, name, lat, lng, detail, raw_text, *region_row in rows:
        lat, lng = float(lat), float(lng)
        point = {
            "id": pk,
            "customer": customer_id,
            "name": name,
            "address": address_line(detail, raw_text, *region_row),
            "lat": round(lat, 6),
            "lng": round(lng, 6),
            "categories": sorted(cats.get(pk, [])),
        }
        if origin is not None:
            point["km"] = round(haversine_km(origin[0], origin[1], lat, lng), 3)
        out.append(point)
    return out


def _located_in_box(customers, box: BBox):
    """Located addresses of `customers` inside `box`: the key ranges first (one index), then
    the exact bounds."""
    qs = _filtered_addresses(customers).filter(_ranges_q(mapmath.bbox_key_ranges(box)))
    return qs.filter(lat__gte=box.south, lat__lte=box.north, lng__gte=box.west, lng__lte=box.east)


def customer_home(*, user, customer_id: int):
    """(customer, (lat, lng) of its first located address or None); Http404 when the user may not see it."""
    customer = Customer.objects.visible_to(user).filter(pk=customer_id).first()
    if customer is None:
        raise Http404
    home = (
        Address.objects.filter(customer=customer, lat__isnull=False)
        .order_by("-is_primary", "kind", "pk")
        .values_list("lat", "lng")
        .first()
    )
    return customer, (float(home[0]), float(home[1])) if home is not None else None


class Nearby(NamedTuple):
    """Addresses near a point, nearest first."""

    count: int  # every address within the radius
    address_ids: list[int]  # the nearest `limit` of them


def nearby_addresses(
    *,
    customers,
    origin: tuple[float, float],
    radius_km: float,
    limit: int,
    exclude_customer: int | None = None,
) -> Nearby:
    """Located addresses of `customers` within `radius_km` of `origin` (great-circle distance)."""
    qs = _located_in_box(customers, mapmath.radius_bbox(origin[0], origin[1], radius_km))
    if exclude_customer:
        qs = qs.exclude(customer_id=exclude_customer)
    found = []
    for pk, lat, lng in qs.values_list("pk", "lat", "lng").iterator(chunk_size=5000):
        d = haversine_km(origin[0], origin[1], float(lat), float(lng))
        if d <= radius_km:
            found.append((d, pk))
    found.sort()
    return Nearby(len(found), [pk for _d, pk in found[:limit]])


def addresses_in_polygon(*, customers, ring: Sequence[tuple[float, float]]) -> list[int]:
    """Ids of the located addresses of `customers` inside the polygon `ring` ([(lat, lng), ...])."""
    qs = _located_in_box(customers, mapmath.polygon_bbox(ring))
    inside = [
        pk
        for pk, lat, lng in qs.values_list("pk", "lat", "lng").iterator(chunk_size=5000)
        if mapmath.point_in_polygon(float(lat), float(lng), ring)
    ]
    return sorted(inside)


def route_stops(*, user, address_ids: Sequence[int]) -> list:
    """Located addresses (in the order given) of customers the user may see; Http404 for any other."""
    ids = list(address_ids)
    visible = Customer.objects.visible_to(user).values("pk")
    by_id = {
        a.pk: a
        for a in Address.objects.filter(pk__in=ids, customer_id__in=visible, lat__isnull=False)
        .select_related("customer", "country", "province", "city", "district")
        .order_by()
    }
    if len(by_id) != len(ids):
        raise Http404
    return [by_id[i] for i in ids]


def region_layer(*, map_filter: MapFilter, zoom: int, area: BBox) -> dict:
    """Address counts per region of the level that suits `zoom` (provinces, cities or districts
    inside `area`), largest first, as the map's shading layer draws them."""
    level = region_level_for_zoom(zoom)
    counts = region_counts(
        customers=map_filter.customers, scope=map_filter.scope, level_name=level, where=map_filter.where
    )
    regions = Region.objects.filter(pk__in=list(counts), lat__isnull=False).only(
        "pk", "code", "name", "name_en", "lat", "lng"
    )
    if level != "province":
        regions = regions.filter(
            lat__gte=area.south, lat__lte=area.north, lng__gte=area.west, lng__lte=area.east
        )
    rows = [[r.code, region_label(r), float(r.lat), float(r.lng), counts[r.pk]] for r in regions]
    rows.sort(key=lambda r: -r[4])
    return {"level": level, "max": max((r[4] for r in rows), default=0), "regions": rows[:1500]}
