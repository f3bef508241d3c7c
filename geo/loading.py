"""Upsert the bundled region records into `geo.Region`.

One transaction, bulk statements only, and only for rows that changed, so a
second run writes nothing. Rows that left the files are marked inactive, never
deleted: addresses keep pointing at them.
"""

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction

from geo.models import Region
from geo.regiondata import RegionRecord, read_region_records

# Fields the files own. `successor` is set in a second pass (it may point at a
# row created later in the same run).
_FIELDS = (
    "name",
    "name_en",
    "short_name",
    "aliases",
    "level",
    "parent_id",
    "path",
    "lat",
    "lng",
    "centroid_source",
    "centroid_estimated",
    "is_active",
)
_BATCH = 500


@dataclass
class RegionLoadResult:
    """What `regions_load` did, and what the files hold per country and level."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deactivated: int = 0
    # (country code or "*" for countries themselves, level) → active rows in the files
    active_counts: Counter = field(default_factory=Counter)
    inactive_counts: Counter = field(default_factory=Counter)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.deactivated)


def _paths(records: list[RegionRecord]) -> dict[str, str]:
    by_code = {r.code: r for r in records}
    paths: dict[str, str] = {}

    def path(code: str, depth: int = 0) -> str:
        if code in paths:
            return paths[code]
        if depth > 10:
            raise ValueError(f"region {code}: parent chain loops")
        rec = by_code[code]
        if rec.parent_code and rec.parent_code not in by_code:
            raise ValueError(f"region {code}: unknown parent {rec.parent_code}")
        prefix = path(rec.parent_code, depth + 1) if rec.parent_code else ""
        paths[code] = f"{prefix}{code}/"
        return paths[code]

    for rec in records:
        path(rec.code)
    return paths


def _decimal(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(f"{value:.6f}")


@dataclass
class _Rows:
    """The table's rows by code while a load runs, and what the load did to them."""

    existing: dict[str, Region]
    ids: dict[str, int]
    changed: dict[str, Region] = field(default_factory=dict)  # saved with every field
    created: set[str] = field(default_factory=set)
    successor_changed: dict[str, Region] = field(default_factory=dict)  # saved with the successor only


@transaction.atomic
def regions_load(*, records: Iterable[RegionRecord] | None = None) -> RegionLoadResult:
    """Create or update every region in `records` (default: the bundled files); deactivate the rest."""
    records = list(read_region_records() if records is None else records)
    _check_unique(records)
    paths = _paths(records)
    existing = {r.code: r for r in Region.objects.only("id", "code", "successor_id", *_FIELDS)}
    rows = _Rows(existing, {code: r.pk for code, r in existing.items()})
    _write_by_depth(records, paths, rows)
    _link_successors(records, rows)
    in_files = {r.code for r in records}
    result = RegionLoadResult(deactivated=_deactivate_missing(in_files, rows))
    if rows.changed:
        Region.objects.bulk_update(list(rows.changed.values()), [*_FIELDS, "successor_id"], batch_size=_BATCH)
    if rows.successor_changed:
        Region.objects.bulk_update(list(rows.successor_changed.values()), ["successor_id"], batch_size=_BATCH)
    result.created = len(rows.created)
    gone = {c for c in rows.changed if c not in in_files}
    result.updated = len({*rows.changed, *rows.successor_changed} - rows.created - gone)
    result.unchanged = len(records) - result.created - result.updated
    _count_levels(records, paths, result)
    transaction.on_commit(_invalidate_region_index)
    return result


def _check_unique(records: list[RegionRecord]) -> None:
    codes = [r.code for r in records]
    if len(codes) != len(set(codes)):
        dupes = sorted(c for c, n in Counter(codes).items() if n > 1)
        raise ValueError(f"duplicate region codes: {', '.join(dupes[:10])}")


def _values(rec: RegionRecord, paths: dict[str, str], ids: dict[str, int]) -> dict:
    """The fields the files own, as the row should hold them."""
    return {
        "name": rec.name,
        "name_en": rec.name_en,
        "short_name": rec.short_name,
        "aliases": list(rec.aliases),
        "level": rec.level,
        "parent_id": ids[rec.parent_code] if rec.parent_code else None,
        "path": paths[rec.code],
        "lat": _decimal(rec.lat),
        "lng": _decimal(rec.lng),
        "centroid_source": rec.centroid_source,
        "centroid_estimated": rec.centroid_estimated,
        "is_active": rec.is_active,
    }


def _write_by_depth(records: list[RegionRecord], paths: dict[str, str], rows: _Rows) -> None:
    """Parents first: create new rows depth by depth so each parent has an id; note changed rows."""
    by_depth: dict[int, list[RegionRecord]] = {}
    for rec in records:
        by_depth.setdefault(paths[rec.code].count("/"), []).append(rec)
    for depth in sorted(by_depth):
        new_rows = []
        for rec in by_depth[depth]:
            values = _values(rec, paths, rows.ids)
            row = rows.existing.get(rec.code)
            if row is None:
                new_rows.append(Region(code=rec.code, **values))
                continue
            if any(getattr(row, name) != value for name, value in values.items()):
                for name, value in values.items():
                    setattr(row, name, value)
                rows.changed[rec.code] = row
        for row in Region.objects.bulk_create(new_rows, batch_size=_BATCH):
            rows.ids[row.code] = row.pk
            rows.existing[row.code] = row
            rows.created.add(row.code)


def _link_successors(records: list[RegionRecord], rows: _Rows) -> None:
    """Point each row at its successor (which may have been created in this run)."""
    for rec in records:
        row = rows.existing[rec.code]
        successor_id = rows.ids.get(rec.successor_code) if rec.successor_code else None
        if rec.successor_code and successor_id is None:
            raise ValueError(f"region {rec.code}: unknown successor {rec.successor_code}")
        if row.successor_id != successor_id:
            row.successor_id = successor_id
            if rec.code not in rows.changed:  # changed rows are saved with all fields
                rows.successor_changed[rec.code] = row  # new rows too: bulk_create left it empty


def _deactivate_missing(in_files: set[str], rows: _Rows) -> int:
    """Rows that left the files become inactive (never deleted); how many."""
    deactivated = 0
    for code, row in rows.existing.items():
        if code not in in_files and row.is_active:
            row.is_active = False
            rows.changed[code] = row
            deactivated += 1
    return deactivated


def _count_levels(records: list[RegionRecord], paths: dict[str, str], result: RegionLoadResult) -> None:
    for rec in records:
        country = rec.code if rec.level == "country" else paths[rec.code].split("/", 1)[0]
        counts = result.active_counts if rec.is_active else result.inactive_counts
        counts[(country, rec.level)] += 1


def _invalidate_region_index() -> None:
    """Drop the parser's cached index, if the selectors module provides one."""
    try:
        from geo.selectors import invalidate_region_index
    except (ImportError, AttributeError):
        return
    invalidate_region_index()
