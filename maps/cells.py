"""The map's precomputed cells, kept by the write path: per-address Morton keys, the
`MapCell` aggregate (per grid cell and per region, also per filter scope at coarse levels)
and each address's `customer_scopes` tags.

This is the interface the address write path and the import call when a batch is
written: it imports only models, the map maths and database helpers, never services.
"""

from collections.abc import Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from operator import itemgetter
from typing import NamedTuple

from django.db import connection, transaction
from django.db.models import Avg, Count, F

from addresses.freshness import addresses_data_changed
from addresses.models import Address
from crm.db.batch_lookup import in_values
from geo import mapmath
from maps.models import MapCell

AGG_LEVELS = range(3, 17)  # grid levels kept in MapCell (clusters up to zoom 14, heat up to 13)
# Grid levels also kept per filter scope (see address_scopes): one level fewer, as a filter
# scope's cells multiply with its values (clusters up to zoom 13, heat up to 12).
SCOPED_LEVELS = range(AGG_LEVELS[0], AGG_LEVELS[-1])
REGION_LEVELS = {"province": 101, "city": 102, "district": 103}

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


def map_cells_removal_delta(*, customer_ids: Sequence[int], sign: int = -1) -> _CellDeltas:
    """MapCell changes for customers whose addresses are about to be deleted (call while the rows
    still exist; apply with `map_cells_apply`). With `sign=1`, the changes that count their stored
    addresses back in (addresses moved between customers leave with -1 and come back with +1)."""
    deltas = _CellDeltas()
    rows = list(
        Address.objects.filter(customer_id__in=in_values(customer_ids))
        .order_by()
        .values_list("pk", *_SCOPE_COLUMNS)
    )
    categories = _address_categories([pk for pk, *_columns in rows])
    by_customer: dict[int, list] = {}
    for pk, *columns in rows:
        lat, lng, province, city, district = columns[1], columns[2], columns[4], columns[5], columns[6]
        deltas.add(lat, lng, province, city, district, sign)
        by_customer.setdefault(columns[0], []).append((*columns, frozenset(categories.get(pk, ()))))
    for customer_rows in by_customer.values():
        deltas.add_customer(customer_rows, sign)
    return deltas


def map_cells_address_removal_delta(*, address_ids: Sequence[int]) -> "MapDelta":
    """MapCell changes for single addresses about to be deleted while their customers stay (call
    while the rows still exist): the points leave their cells, each customer's scoped counts are
    recomputed without them, and its other addresses get their new `customer_scopes` (apply
    with `customer_scopes_apply` and `map_cells_apply`)."""
    deltas = _CellDeltas()
    gone = set(address_ids)
    customer_ids = set(Address.objects.filter(pk__in=list(gone)).values_list("customer_id", flat=True))
    rows = list(
        Address.objects.filter(customer_id__in=list(customer_ids))
        .order_by()
        .values_list("pk", *_SCOPE_COLUMNS)
    )
    categories = _address_categories([pk for pk, *_columns in rows])
    by_customer: dict[int, list] = {}
    for pk, *columns in rows:
        by_customer.setdefault(columns[0], []).append((pk, (*columns, frozenset(categories.get(pk, ())))))
        if pk in gone:
            deltas.add(columns[1], columns[2], columns[4], columns[5], columns[6], -1)
    sibling_tags: list[tuple[int, str]] = []
    for customer_rows in by_customer.values():
        deltas.add_customer([row for _pk, row in customer_rows], -1)
        kept = [(pk, row) for pk, row in customer_rows if pk not in gone]
        if kept:
            deltas.add_customer([row for _pk, row in kept], 1)
            tags = customer_scope_tags([row for _pk, row in kept])
            sibling_tags += [(pk, tags) for pk, _row in kept]
    return MapDelta(deltas, sibling_tags)


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
            addresses_data_changed()


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
            addresses_data_changed()


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
        addresses_data_changed()
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
