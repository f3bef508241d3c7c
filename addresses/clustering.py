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
from collections.abc import Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from operator import itemgetter
from typing import NamedTuple

from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Avg, Count, F, Min, Q
from django.db.models.expressions import RawSQL

from addresses.models import Address, MapCell
from crm.db.batch_lookup import in_values
from geo import mapmath
from geo.mapmath import BBox

CELL_ZOOM_OFFSET = 2  # cluster cells are 64 px: level = zoom + 2
HEAT_ZOOM_OFFSET = 3  # heat cells are 32 px
AGG_LEVELS = range(3, 17)  # grid levels kept in MapCell (clusters up to zoom 14, heat up to 13)
# Grid levels also kept per filter scope (see address_scopes): one level fewer, as a filter
# scope's cells multiply with its values (clusters up to zoom 13, heat up to 12).
SCOPED_LEVELS = range(AGG_LEVELS[0], AGG_LEVELS[-1])
REGION_LEVELS = {"province": 101, "city": 102, "district": 103}
COARSE_CACHE_MAX_LEVEL = 11  # filtered grids cached whole up to zoom 9
POINTS_ZOOM = 17  # from here on, small viewports come back as individual points
MAX_POINTS = 400
CACHE_TTL = 120
VERSION_KEY = "map:data-version"


# --- write path -----------------------------------------------------------------------------

_FINE_LEVEL = AGG_LEVELS[-1]
_FINE_SHIFT = mapmath.KEY_LEVEL - _FINE_LEVEL
_SCOPED_FINE = SCOPED_LEVELS[-1]
_SCOPED_SHIFT = _FINE_LEVEL - _SCOPED_FINE
# Address columns the scoped cells depend on (besides the point): regions and customer copies.
_SCOPE_COLUMNS = (
    "customer_id", "lat", "lng", "country_id", "province_id", "city_id", "district_id",
    "customer_stage", "customer_kind", "customer_owner_id",
)  # fmt: skip


def address_scopes(stage: str, kind: str, owner_id: int | None, regions, categories=()) -> list[str]:
    """The filter scopes an address counts in: its customer's stage, kind and owner; every
    province and city its customer has an address in, with the owner (a region alone is the
    sum over owners); and every category any of its customer's addresses has (the list's
    filters are per customer)."""
    owner = owner_id or 0
    out = [f"s:{stage}", f"k:{kind}", f"o:{owner}"]
    out += [f"r:{r}:{owner}" for r in regions]
    out += [f"c:{c}" for c in categories]
    return out


_NO_CATEGORIES: frozenset[int] = frozenset()


def _customer_regions(rows) -> set[int]:
    """Every province and city any of a customer's addresses lies in (countries are too big
    to be worth cells of their own, districts small enough for the semi-join)."""
    return {r for row in rows for r in row[4:6] if r}


def _customer_categories(rows) -> set[int]:
    return {c for row in rows for c in row[10]}


def customer_scope_tags(rows) -> str:
    """What Address.customer_scopes holds for a customer with these addresses (tuples in
    `_SCOPE_COLUMNS` order plus category ids): every region (country to district) any of
    them lies in and every category any of them has, as " c5 r12 r340 " ("" for none).

    A filter tests one with `customer_scopes LIKE '% r12 %'` on the address's own row. The
    tags are sorted by code point, as `customer_scopes_rebuild` sorts them in SQL.
    """
    tags = {f"r{r}" for row in rows for r in row[3:7] if r}
    tags |= {f"c{c}" for c in _customer_categories(rows)}
    return _tags_text(tags)


def _tags_text(tags: set[str]) -> str:
    return f" {' '.join(sorted(tags))} " if tags else ""


def _accumulate(cells: dict, key, n, slat: float, slng: float) -> None:
    """Add (count, lat sum, lng sum) to one cell of a delta dict, creating it."""
    d = cells.get(key)
    if d is None:
        cells[key] = [n, slat, slng]
    else:
        d[0] += n
        d[1] += slat
        d[2] += slng


class _CellDeltas:
    """Signed changes to MapCell rows of one batch, summed at the finest grid level first.

    Coarser levels are derived from the finer one (x >> 1, y >> 1), so the work per
    address is one Mercator projection and one dict update, whatever the number of levels.
    Scoped cells (per filter value) are summed the same way from SCOPED_LEVELS' finest level,
    first per set of scopes (most addresses of a batch share theirs with many others) and
    spread over the scopes of each set once, at the end.
    """

    def __init__(self):
        self.fine: dict[tuple[str, int, int], list] = {}  # ("", x, y): the unscoped cells
        self.scoped: dict[tuple[str, int, int], list] = {}
        self.regions: dict[tuple[int, int], int] = {}
        self._points: dict[tuple, tuple[int, int, int]] = {}
        self._by_scopes: dict[tuple[tuple[str, ...], int, int], list] = {}
        self._scope_sets: dict[tuple, tuple[str, ...]] = {}

    def key(self, lat, lng) -> tuple[int, int, int] | None:
        """(map key, x, y at the finest level) of a point; computed once per distinct point."""
        if lat is None or lng is None:
            return None
        hit = self._points.get((lat, lng))
        if hit is None:
            x, y = mapmath.cell_xy(float(lat), float(lng), mapmath.KEY_LEVEL)
            hit = self._points[lat, lng] = (mapmath.morton(x, y), x >> _FINE_SHIFT, y >> _FINE_SHIFT)
        return hit

    def add(self, lat, lng, province_id, city_id, district_id, sign: int) -> None:
        k = self.key(lat, lng)
        if k is not None:  # the unscoped cell: scope ""
            _accumulate(self.fine, ("", k[1], k[2]), sign, sign * float(lat), sign * float(lng))
        regions = self.regions
        if province_id:
            regions[101, province_id] = regions.get((101, province_id), 0) + sign
        if city_id:
            regions[102, city_id] = regions.get((102, city_id), 0) + sign
        if district_id:
            regions[103, district_id] = regions.get((103, district_id), 0) + sign

    def add_customer(self, rows, sign: int) -> None:
        """Count one customer's addresses (tuples in `_SCOPE_COLUMNS` order plus the address's
        category ids) in their scopes."""
        regions = frozenset(_customer_regions(rows))
        categories = frozenset(_customer_categories(rows))
        by_scopes, scope_sets = self._by_scopes, self._scope_sets
        for _c, lat, lng, _co, _p, _ci, _d, stage, kind, owner, _cats in rows:
            k = self.key(lat, lng)
            if k is None:
                continue
            signature = (stage, kind, owner, regions, categories)
            scopes = scope_sets.get(signature)
            if scopes is None:
                scopes = scope_sets[signature] = tuple(
                    address_scopes(stage, kind, owner, regions, categories)
                )
            cell = (scopes, k[1] >> _SCOPED_SHIFT, k[2] >> _SCOPED_SHIFT)
            _accumulate(by_scopes, cell, sign, sign * float(lat), sign * float(lng))

    def merge(self, other: "_CellDeltas") -> None:
        """Add another batch's changes to these (before either is turned into rows)."""
        for mine, theirs in ((self.fine, other.fine), (self._by_scopes, other._by_scopes)):
            for key, (n, slat, slng) in theirs.items():
                _accumulate(mine, key, n, slat, slng)
        for key, n in other.regions.items():
            self.regions[key] = self.regions.get(key, 0) + n

    def __bool__(self) -> bool:
        return bool(self.fine or self._by_scopes or self.scoped or self.regions)

    def add_single(self, row, sign: int) -> None:
        """`add_customer` for a customer with this one address."""
        _c, lat, lng, _co, province, city, _d, stage, kind, owner, categories = row
        k = self.key(lat, lng)
        if k is None:
            return
        signature = (stage, kind, owner, province, city, categories)
        scopes = self._scope_sets.get(signature)
        if scopes is None:
            regions = [r for r in dict.fromkeys((province, city)) if r]
            scopes = self._scope_sets[signature] = tuple(
                address_scopes(stage, kind, owner, regions, categories)
            )
        cell = (scopes, k[1] >> _SCOPED_SHIFT, k[2] >> _SCOPED_SHIFT)
        _accumulate(self._by_scopes, cell, sign, sign * float(lat), sign * float(lng))

    def _spread_scopes(self) -> None:
        for (scopes, x, y), (n, slat, slng) in self._by_scopes.items():
            for scope in scopes:
                _accumulate(self.scoped, (scope, x, y), n, slat, slng)
        self._by_scopes = {}

    def rows(self) -> list[tuple[str, int, int, int, int, float, float]]:
        """(scope, level, x, y, count, lat_sum, lng_sum) per changed cell."""
        self._spread_scopes()
        out = [
            (scope, level, x, y, n, slat, slng)
            for fine, levels in ((self.fine, AGG_LEVELS), (self.scoped, SCOPED_LEVELS))
            for level, cells in _roll_up(fine, levels)
            for (scope, x, y), (n, slat, slng) in cells.items()
            if n or abs(slat) > 1e-9 or abs(slng) > 1e-9
        ]
        out += [("", level, region_id, 0, n, 0.0, 0.0) for (level, region_id), n in self.regions.items() if n]
        return out


def _roll_up(cells: dict, levels: range):
    """Yield (level, cells) from the finest of `levels` to the coarsest, halving x and y.

    Keys are (scope, x, y).
    """
    for level in reversed(levels):
        if level != levels[-1]:
            coarser: dict[tuple, list] = {}
            for (scope, x, y), (n, slat, slng) in cells.items():
                _accumulate(coarser, (scope, x >> 1, y >> 1), n, slat, slng)
            cells = coarser
        yield level, cells


def map_cells_delta(
    *,
    created: Sequence[Address],
    updated: Sequence[Address],
    old: dict | None = None,
    categories: Sequence[Sequence[int]] | None = None,
) -> "MapDelta":
    """Set `map_key` and `customer_scopes` on addresses about to be written and return their
    MapCell changes, with the new `customer_scopes` of the customers' other stored addresses.

    `old` maps an updated address's pk to its stored (lat, lng, province_id, city_id,
    district_id); without it they are read in one query (the rows must not be written yet).
    `categories` gives the category ids each address (created, then updated) will have;
    without it new addresses have none and updated ones keep theirs.
    Apply the cells with `map_cells_apply`, best as the transaction's last statement (it
    locks the cells it touches until commit), and the tags with `customer_scopes_apply`.
    """
    deltas = _CellDeltas()
    sibling_tags: list[tuple[int, str]] = []
    touched: dict[int, dict] = {}  # customer id -> {address pk or new index: columns after}
    cats = list(categories) if categories is not None else [()] * len(created) + [None] * len(updated)
    for i, a in enumerate(created):
        k = deltas.key(a.lat, a.lng)
        a.map_key = k[0] if k is not None else None
        deltas.add(a.lat, a.lng, a.province_id, a.city_id, a.district_id, 1)
        touched.setdefault(a.customer_id, {})[("new", i)] = (
            *_scope_row(a),
            frozenset(cats[i]) if cats[i] else _NO_CATEGORIES,
        )
    if updated:
        if old is None:
            old = {
                row[0]: row[1:]
                for row in Address.objects.filter(pk__in=[a.pk for a in updated]).values_list(
                    "pk", "lat", "lng", "province_id", "city_id", "district_id"
                )
            }
        for j, a in enumerate(updated):
            before = old.get(a.pk)
            after = (a.lat, a.lng, a.province_id, a.city_id, a.district_id)
            k = deltas.key(a.lat, a.lng)
            a.map_key = k[0] if k is not None else None
            new_cats = cats[len(created) + j]
            if before is not None and not _same(before, after):
                deltas.add(*before, -1)
                deltas.add(*after, 1)
            elif new_cats is None:
                continue  # neither the point, the regions nor the categories change
            row = (*_scope_row(a), None if new_cats is None else frozenset(new_cats))
            touched.setdefault(a.customer_id, {})[a.pk] = row
    if touched:
        tags, stored_tags = _scoped_delta(deltas, touched)
        for a in (*created, *updated):
            if a.customer_id in tags:
                a.customer_scopes = tags[a.customer_id]
        in_batch = {a.pk for a in updated}
        sibling_tags = [
            (pk, tags[customer_id])
            for pk, (customer_id, old_tags) in stored_tags.items()
            if pk not in in_batch and old_tags != tags[customer_id]
        ]
    return MapDelta(deltas, sibling_tags)


class MapDelta(NamedTuple):
    cells: _CellDeltas  # for map_cells_apply
    sibling_tags: list[tuple[int, str]]  # (address id, customer_scopes), for customer_scopes_apply


def customer_scopes_apply(rows: Sequence[tuple[int, str]]) -> None:
    """Write new `customer_scopes` onto stored addresses: (address id, tags) pairs."""
    if not rows:
        return
    if connection.vendor == "postgresql":
        table = Address._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} a SET customer_scopes = v.tags "  # noqa: S608
                "FROM unnest(%s::bigint[], %s::text[]) AS v(id, tags) WHERE a.id = v.id",
                [[pk for pk, _t in rows], [t for _pk, t in rows]],
            )
        return
    Address.objects.bulk_update(
        [Address(pk=pk, customer_scopes=tags) for pk, tags in rows], ["customer_scopes"], batch_size=500
    )


_scope_values = itemgetter(*_SCOPE_COLUMNS)


def _scope_row(a: Address) -> tuple:
    """An address's values in _SCOPE_COLUMNS order (read from its __dict__: the foreign-key id
    descriptors cost a call each)."""
    return _scope_values(a.__dict__)


def _scoped_delta(deltas: _CellDeltas, changes: dict[int, dict]) -> tuple[dict, dict]:
    """Move the scoped counts of customers whose addresses change: each customer's stored
    addresses leave their scopes and come back with the changes applied (the customer's
    regions, and so every address's region scopes, may change with one address).

    Returns ({customer id: its customer_scopes tags after the change}, {stored address id:
    (customer id, its stored tags)}).
    """
    stored: dict[int, dict] = {}
    rows = (
        Address.objects.filter(customer_id__in=in_values(changes))
        .order_by()
        .values_list("pk", "customer_scopes", *_SCOPE_COLUMNS)
    )
    rows = list(rows)
    categories = _address_categories([pk for pk, *_columns in rows])
    stored_tags = {}
    for pk, old_tags, *columns in rows:
        stored.setdefault(columns[0], {})[pk] = (*columns, frozenset(categories.get(pk, ())))
        stored_tags[pk] = (columns[0], old_tags)
    tags = {}
    single_tags: dict[tuple, str] = {}
    for customer_id, changed in changes.items():
        if customer_id not in stored and len(changed) == 1:
            # A customer's first address (every row of a first import): nothing leaves a scope.
            (row,) = changed.values()
            if row[10] is None:
                row = (*row[:10], _NO_CATEGORIES)
            deltas.add_single(row, 1)
            key = (*row[3:7], row[10])
            tag = single_tags.get(key)
            if tag is None:
                tag = single_tags[key] = customer_scope_tags((row,))
            tags[customer_id] = tag
            continue
        before = stored.get(customer_id, {})
        after = dict(before)
        for key, row in changed.items():
            if row[10] is None:  # categories unchanged
                row = (*row[:10], before[key][10] if key in before else frozenset())
            after[key] = row
        if before:
            deltas.add_customer(list(before.values()), -1)
        deltas.add_customer(list(after.values()), 1)
        tags[customer_id] = customer_scope_tags(after.values())
    return tags, stored_tags


def map_cells_copies_delta(*, customer_ids: Sequence[int]) -> _CellDeltas:
    """MapCell changes for customers whose stage / kind / owner are about to be copied onto
    their addresses (call before the copies are written; apply with `map_cells_apply`)."""
    table = Address._meta.db_table
    if connection.vendor == "postgresql":
        wanted, params = "= ANY(%s::bigint[])", [list(customer_ids)]
    else:
        wanted, params = "IN ({})".format(",".join(["%s"] * len(customer_ids))), list(customer_ids)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT a.id, {', '.join('a.' + c for c in _SCOPE_COLUMNS)}, c.stage, c.kind, c.owner_id "  # noqa: S608
            f"FROM {table} a JOIN customers_customer c ON c.id = a.customer_id "
            f"WHERE a.customer_id IN (SELECT a2.customer_id FROM {table} a2 "
            f"JOIN customers_customer c2 ON c2.id = a2.customer_id WHERE a2.customer_id {wanted} AND "
            "(a2.customer_stage <> c2.stage OR a2.customer_kind <> c2.kind OR "
            "a2.customer_owner_id IS DISTINCT FROM c2.owner_id))",
            params,
        )
        fetched = cursor.fetchall()
    deltas = _CellDeltas()
    if not fetched:
        return deltas
    categories = _address_categories([row[0] for row in fetched])
    by_customer: dict[int, list] = {}
    for row in fetched:
        by_customer.setdefault(row[1], []).append((*row[1:], frozenset(categories.get(row[0], ()))))
    for rows in by_customer.values():
        deltas.add_customer([(*r[:10], r[13]) for r in rows], -1)
        deltas.add_customer([(*r[:7], *r[10:]) for r in rows], 1)
    return deltas


def _address_categories(address_ids: Sequence[int]) -> dict[int, list[int]]:
    """{address id: category ids} of stored addresses."""
    out: dict[int, list[int]] = {}
    if address_ids:
        through = Address.categories.through.objects.filter(address_id__in=in_values(address_ids))
        for address_id, category_id in through.values_list("address_id", "addresscategory_id"):
            out.setdefault(address_id, []).append(category_id)
    return out


def map_cells_apply(deltas: _CellDeltas) -> None:
    """Add the changes of `map_cells_delta` to MapCell and invalidate cached aggregates
    (inside `map_cells_batched`, at the end of that block)."""
    batch = _batch.get()
    if batch is not None:
        batch.add(deltas)
    elif deltas:
        rows = deltas.rows()
        if rows:
            _upsert(rows)
            map_data_changed()


class MapCellBatch:
    """The map-cell changes of many writes in one transaction, summed and applied once.

    A bulk import writes a few hundred thousand rows per transaction in smaller chunks: each
    chunk touches nearly every cell of the grid, so applying once per transaction instead
    of once per chunk saves most of the upserts. `mark` and `discard` follow the caller's
    savepoints: changes of a rolled-back savepoint are dropped with it.
    """

    def __init__(self):
        self._deltas: list[_CellDeltas] = []

    def add(self, deltas: _CellDeltas) -> None:
        if deltas:
            self._deltas.append(deltas)

    def mark(self) -> int:
        return len(self._deltas)

    def discard(self, mark: int) -> None:
        del self._deltas[mark:]

    def apply(self) -> None:
        if not self._deltas:
            return
        total, *rest = self._deltas
        for deltas in rest:
            total.merge(deltas)
        self._deltas = []
        rows = total.rows()
        if rows:
            _upsert(rows)
            map_data_changed()


_batch: ContextVar[MapCellBatch | None] = ContextVar("map_cell_batch", default=None)


@contextmanager
def map_cells_batched():
    """Collect the map-cell changes of every write in the block and apply them at its end
    (call inside the transaction; nothing is applied if the block raises)."""
    batch = MapCellBatch()
    token = _batch.set(batch)
    try:
        yield batch
    finally:
        _batch.reset(token)
    batch.apply()


def _same(before, after) -> bool:
    def f(v):
        return None if v is None else round(float(v), 6)

    return (f(before[0]), f(before[1]), *before[2:]) == (f(after[0]), f(after[1]), *after[2:])


_CELL_COLUMNS = ("scope", "level", "x", "y", "count", "lat_sum", "lng_sum")


# The batch's cell changes, COPYed in binary and merged in one statement (PostgreSQL).
_DELTA_TABLE = "map_cell_delta"
_DELTA_TABLE_SQL = (
    f"CREATE TEMPORARY TABLE IF NOT EXISTS {_DELTA_TABLE} (scope text, level smallint, x bigint, y bigint, "
    "count integer, lat_sum float8, lng_sum float8) ON COMMIT DELETE ROWS"
)


def _upsert(rows: list[tuple], chunk: int = 1000) -> None:
    """Add counts and sums to cells, creating them as needed, in index order (a fixed lock
    order: concurrent writers wait for each other instead of deadlocking).

    PostgreSQL gets the batch through a binary COPY into a temporary table and one
    INSERT ... ON CONFLICT from it; other databases multi-row VALUES.
    """
    table = MapCell._meta.db_table
    conflict = (
        f"ON CONFLICT (scope, level, x, y) DO UPDATE SET count = {table}.count + excluded.count, "
        f"lat_sum = {table}.lat_sum + excluded.lat_sum, lng_sum = {table}.lng_sum + excluded.lng_sum"
    )
    columns = ", ".join(_CELL_COLUMNS)
    if connection.vendor == "postgresql":
        from crm.db.bulk_insert import copy_rows

        with connection.cursor() as cursor:
            cursor.execute(_DELTA_TABLE_SQL)
            copy_rows(connection, _DELTA_TABLE, _CELL_COLUMNS, rows)
            cursor.execute(
                f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {_DELTA_TABLE} "  # noqa: S608
                f"ORDER BY scope, level, x, y {conflict}"
            )
            cursor.execute(f"TRUNCATE {_DELTA_TABLE}")
        return
    rows.sort()
    with connection.cursor() as cursor:
        for i in range(0, len(rows), chunk):
            part = rows[i : i + chunk]
            values = ",".join(["(%s,%s,%s,%s,%s,%s,%s)"] * len(part))
            params = [v for row in part for v in row]
            cursor.execute(
                f"INSERT INTO {table} ({columns}) VALUES {values} {conflict}",  # noqa: S608
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
    if connection.vendor == "postgresql":  # millions of rows: no per-row delete, no dead tuples
        with connection.cursor() as cursor:
            cursor.execute(f"TRUNCATE {cell_model._meta.db_table}")  # noqa: S608
    else:
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
            rows.append(("", level, x, y, n, float(lat) * n, float(lng) * n))
    for field, level in REGION_LEVELS.items():
        grouped = (
            address_model.objects.filter(**{f"{field}__isnull": False})
            .order_by()
            .values(field)
            .annotate(n=Count("pk"))
            .values_list(field, "n")
        )
        rows += [("", level, region_id, 0, n, 0.0, 0.0) for region_id, n in grouped]
    columns = _CELL_COLUMNS
    if any(f.name == "scope" for f in cell_model._meta.get_fields()):
        rows += _scoped_rebuild_rows(
            address_model._meta.db_table,
            address_model._meta.get_field("categories").remote_field.through._meta.db_table,
        )
    else:  # an old migration state, before cells had scopes
        rows, columns = [row[1:] for row in rows], _CELL_COLUMNS[1:]
    from crm.db.bulk_insert import bulk_insert_rows

    rows.sort()  # in index order: the rows of one scope and level lie together on disk
    for i in range(0, len(rows), 100_000):
        bulk_insert_rows(cell_model, columns, rows[i : i + 100_000])
    if any(f.name == "customer_scopes" for f in address_model._meta.get_fields()):
        customer_scopes_rebuild(address_model=address_model)
    if cell_model is MapCell:
        map_data_changed()
    return len(rows)


def customer_scopes_rebuild(*, address_model=Address) -> int:
    """Recompute every address's `customer_scopes` (see `customer_scope_tags`); returns rows changed."""
    table = address_model._meta.db_table
    through = address_model._meta.get_field("categories").remote_field.through._meta.db_table
    regions = ("country_id", "province_id", "city_id", "district_id")
    if connection.vendor == "postgresql":
        tags = " UNION ".join(
            [
                *(
                    f"SELECT customer_id, 'r' || {c} AS tag FROM {table} WHERE {c} IS NOT NULL"  # noqa: S608
                    for c in regions
                ),
                f"SELECT a.customer_id, 'c' || t.addresscategory_id FROM {through} t "  # noqa: S608
                f"JOIN {table} a ON a.id = t.address_id",
            ]
        )
        with connection.cursor() as cursor:
            cursor.execute(
                f"WITH t AS (SELECT customer_id, ' ' || string_agg(tag, ' ' ORDER BY tag COLLATE \"C\") || ' ' "  # noqa: S608
                f"AS tags FROM ({tags}) x GROUP BY customer_id) "
                f"UPDATE {table} a SET customer_scopes = s.tags FROM (SELECT b.id, COALESCE(t.tags, '') AS tags "
                f"FROM {table} b LEFT JOIN t ON t.customer_id = b.customer_id) s "
                "WHERE s.id = a.id AND a.customer_scopes IS DISTINCT FROM s.tags"
            )
            return cursor.rowcount
    found: dict[int, set[str]] = {}
    rows = address_model.objects.order_by().values_list("pk", "customer_id", *regions, "customer_scopes")
    stored = {}
    for pk, customer_id, *ids, old in rows:
        found.setdefault(customer_id, set()).update(f"r{r}" for r in ids if r)
        stored[pk] = (customer_id, old)
    through_model = address_model._meta.get_field("categories").remote_field.through
    for customer_id, category_id in through_model.objects.values_list(
        "address__customer_id", "addresscategory_id"
    ):
        found.setdefault(customer_id, set()).add(f"c{category_id}")
    changed = []
    for pk, (customer_id, old) in stored.items():
        new = _tags_text(found.get(customer_id, set()))
        if new != old:
            changed.append(address_model(pk=pk, customer_scopes=new))
    address_model.objects.bulk_update(changed, ["customer_scopes"], batch_size=500)
    return len(changed)


def _scoped_rebuild_rows(table: str, through: str) -> list[tuple]:
    """Every scoped cell, grouped by the database at SCOPED_LEVELS' finest level, rolled up here."""
    shift = mapmath.key_shift(_SCOPED_FINE)
    fine: dict[tuple, list] = {}
    located = f"FROM {table} a WHERE a.map_key IS NOT NULL"
    # A customer's regions: every region any of its addresses lies in (UNION drops repeats).
    customer_regions = " UNION ".join(
        f"SELECT customer_id, {c} AS region_id FROM {table} WHERE {c} IS NOT NULL"  # noqa: S608
        for c in ("province_id", "city_id")
    )
    queries = [
        ("'s:' || a.customer_stage", located),
        ("'k:' || a.customer_kind", located),
        ("'o:' || COALESCE(a.customer_owner_id, 0)", located),
        (
            "'r:' || cr.region_id || ':' || COALESCE(a.customer_owner_id, 0)",
            f"FROM {table} a JOIN ({customer_regions}) cr ON cr.customer_id = a.customer_id "
            "WHERE a.map_key IS NOT NULL",
        ),
        (
            "'c:' || cc.category_id",
            f"FROM {table} a JOIN (SELECT DISTINCT b.customer_id, t.addresscategory_id AS category_id "  # noqa: S608
            f"FROM {through} t JOIN {table} b ON b.id = t.address_id) cc ON cc.customer_id = a.customer_id "
            "WHERE a.map_key IS NOT NULL",
        ),
    ]
    with connection.cursor() as cursor:
        for scope, source in queries:
            cursor.execute(
                f"SELECT {scope}, a.map_key >> {shift}, COUNT(*), SUM(a.lat), SUM(a.lng) {source} "  # noqa: S608
                "GROUP BY 1, 2"
            )
            for name, code, n, slat, slng in cursor.fetchall():
                x, y = mapmath.unmorton(code)
                fine[name, x, y] = [n, float(slat), float(slng)]
    return [
        (scope, level, x, y, n, slat, slng)
        for level, cells in _roll_up(fine, SCOPED_LEVELS)
        for (scope, x, y), (n, slat, slng) in cells.items()
    ]


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
        with connection.cursor() as cursor:
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


MAP_COPY_FILTERS = {"stage", "kind", "owner", "category", "region"}


def _has_scope(tag: str) -> Q:
    """Addresses whose customer has `tag` (see customer_scope_tags): one test on the row itself."""
    return Q(customer_scopes__contains=f" {tag} ")


def address_where(*, user, filters: dict) -> Q | None:
    """The map's customer filter as a condition on the addresses' own columns, or None when
    it needs the customers table (search, dates, precision, selected ids).

    `filters` is the CustomerFilterSet's cleaned data; the user's scope is
    `Customer.objects.visible_to(user)` restated over the copies: customer-level facts (an
    address in a region, an address with a category) are read from `customer_scopes`.
    """
    from crm.roles import is_manager
    from customers.models import Territory
    from geo.models import Region

    if not set(filters) <= MAP_COPY_FILTERS:
        return None
    where = Q()
    if filters.get("stage"):
        where &= Q(customer_stage__in=list(filters["stage"]))
    if filters.get("kind"):
        where &= Q(customer_kind=filters["kind"])
    if filters.get("owner") not in (None, ""):
        where &= Q(customer_owner_id=int(filters["owner"]))
    if filters.get("category"):
        any_category = Q(pk__in=[])
        for category in filters["category"]:
            any_category |= _has_scope(f"c{category.pk}")
        where &= any_category
    if filters.get("region"):
        region = (
            Region.objects.filter(code=str(filters["region"]).strip()).values_list("pk", flat=True).first()
        )
        where &= _has_scope(f"r{region}") if region is not None else Q(pk__in=[])
    if not is_manager(user):
        visible = Q(customer_owner_id=user.pk)
        for region_id in Territory.objects.filter(user=user).values_list("region_id", flat=True):
            visible |= _has_scope(f"r{region_id}")
        where &= visible
    return where


def map_scope_terms(*, user, filters: dict) -> list[tuple[str, int]] | None:
    """The map's customer filter as a signed sum of MapCell scopes, or None when no sum of
    scopes says it (several filters at once, search, category, dates, overlapping territories).

    `filters` is the CustomerFilterSet's cleaned data (active filters only); the user's
    scope is `Customer.objects.visible_to(user)` restated: own customers plus customers
    with an address in the territory, less those counted twice.
    """
    from crm.roles import is_manager
    from customers.models import Territory
    from geo.models import Region

    active = {k: v for k, v in filters.items() if v not in (None, "", [], ())}
    if is_manager(user):
        if len(active) != 1:
            return None
        ((name, value),) = active.items()
        if name == "stage":
            return [(f"s:{v}", 1) for v in sorted(set(value))]
        if name == "kind":
            return [(f"k:{value}", 1)]
        if name == "owner":
            return [(f"o:{int(value)}", 1)]
        if name == "category":
            # One category: customers with two of several would count twice.
            return [(f"c:{value[0].pk}", 1)] if len(value) == 1 else None
        if name == "region":
            region = Region.objects.filter(code=value.strip()).values_list("pk", "level").first()
            if region is None or region[1] not in ("province", "city"):
                return None
            return [(f"r:{region[0]}:{o}", 1) for o in _owner_values()]
        return None
    if active:
        return None
    territories = Territory.objects.filter(user=user).values_list(
        "region_id", "region__path", "region__level"
    )
    paths = {r: (p, level) for r, p, level in territories}
    # A region inside another territory adds nobody (its customers are in the outer one).
    outer = [
        r for r, (p, _l) in paths.items() if not any(p != q and p.startswith(q) for q, _ in paths.values())
    ]
    if not outer:
        return [(f"o:{user.pk}", 1)]
    if len(outer) > 1 or paths[outer[0]][1] not in ("province", "city"):
        return None  # a customer in two territories would count twice; no cells per country or district
    # Own customers, plus the territory's customers of every other owner.
    return [(f"o:{user.pk}", 1)] + [(f"r:{outer[0]}:{o}", 1) for o in _owner_values() if o != user.pk]


def _owner_values() -> list[int]:
    """Every value an owner scope can take: each user's id, and 0 for no owner."""
    from django.contrib.auth import get_user_model

    return [0, *get_user_model().objects.order_by("pk").values_list("pk", flat=True)]
