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


@transaction.atomic
def regions_load(*, records: Iterable[RegionRecord] | None = None) -> RegionLoadResult:
    """Create or update every region in `records` (default: the bundled files); deactivate the rest."""
    records = list(read_region_records() if records is None else records)
    codes = [r.code for r in records]
    if len(codes) != len(set(codes)):
        dupes = sorted(c for c, n in Counter(codes).items() if n > 1)
        raise ValueError(f"duplicate region codes: {', '.join(dupes[:10])}")
    paths = _paths(records)
    result = RegionLoadResult()

    existing = {r.code: r for r in Region.objects.only("id", "code", "successor_id", *_FIELDS)}
    ids = {code: r.pk for code, r in existing.items()}
    changed: dict[str, Region] = {}
    created: set[str] = set()

    # Parents first: create and update depth by depth so each parent has an id.
    by_depth: dict[int, list[RegionRecord]] = {}
    for rec in records:
        by_depth.setdefault(paths[rec.code].count("/"), []).append(rec)
    for depth in sorted(by_depth):
        new_rows = []
        for rec in by_depth[depth]:
            values = {
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
            row = existing.get(rec.code)
            if row is None:
                new_rows.append(Region(code=rec.code, **values))
                continue
            if any(getattr(row, name) != value for name, value in values.items()):
                for name, value in values.items():
                    setattr(row, name, value)
                changed[rec.code] = row
        for row in Region.objects.bulk_create(new_rows, batch_size=_BATCH):
            ids[row.code] = row.pk
            existing[row.code] = row
            created.add(row.code)

    successor_changed: dict[str, Region] = {}
    for rec in records:
        row = existing[rec.code]
        successor_id = ids.get(rec.successor_code) if rec.successor_code else None
        if rec.successor_code and successor_id is None:
            raise ValueError(f"region {rec.code}: unknown successor {rec.successor_code}")
        if row.successor_id != successor_id:
            row.successor_id = successor_id
            if rec.code not in changed:  # changed rows are saved with all fields below
                successor_changed[rec.code] = row  # new rows too: bulk_create left it empty

    in_files = set(codes)
    for code, row in existing.items():
        if code not in in_files and row.is_active:
            row.is_active = False
            changed[code] = row
            result.deactivated += 1

    if changed:
        Region.objects.bulk_update(list(changed.values()), [*_FIELDS, "successor_id"], batch_size=_BATCH)
    if successor_changed:
        Region.objects.bulk_update(list(successor_changed.values()), ["successor_id"], batch_size=_BATCH)

    result.created = len(created)
    result.updated = len({*changed, *successor_changed} - created - {c for c in changed if c not in in_files})
    result.unchanged = len(records) - result.created - result.updated
    for rec in records:
        country = rec.code if rec.level == "country" else paths[rec.code].split("/", 1)[0]
        counts = result.active_counts if rec.is_active else result.inactive_counts
        counts[(country, rec.level)] += 1

    transaction.on_commit(_invalidate_region_index)
    return result


def _invalidate_region_index() -> None:
    """Drop the parser's cached index, if the selectors module provides one."""
    try:
        from geo.selectors import invalidate_region_index
    except (ImportError, AttributeError):
        return
    invalidate_region_index()
