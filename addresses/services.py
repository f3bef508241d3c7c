"""The one write path for addresses.

Every change to an address (form, admin, import, API, self-service) goes through
`addresses_save`; the single-address calls are the batch call with one item, so
bulk work reaches bulk speed without a second code path. Each batch:

1. normalises the text;
2. resolves regions: parses free text, or validates the structured chain;
3. locates what has no coordinates (offline centroid by default), converting
   GCJ-02 / BD-09 input to WGS-84, never silently downgrading precision;
4. writes the rows and one hash-chained `AddressVersion` per changed address;
5. defers side effects until the transaction commits.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from json.encoder import encode_basestring

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import OuterRef, Q, Subquery
from django.db.models.base import ModelState
from django.utils import timezone
from django.utils.translation import gettext as _

from addresses import history
from addresses.choices import AddressKind, Channel
from addresses.freshness import addresses_data_changed
from addresses.history import canonical_json
from addresses.models import Address, AddressCategory, AddressVersion, HistoryHead
from addresses.signals import addresses_committed
from crm.db.batch_lookup import in_values
from crm.db.bulk_insert import JsonText, bulk_insert, bulk_insert_rows
from crm.db.search_keys import search_keys
from customers.choices import TrashKind
from customers.models import Customer, TrashItem
from customers.services import (
    customer_create,
    model_rows,
    model_values,
    trash_item_for_restore,
    trash_item_restored,
)
from geo import geocoding, parsing
from geo.choices import PRECISION_RANK, CoordinateSystem, GeocodePrecision, RegionLevel
from geo.coords import haversine_km, to_wgs84
from geo.models import Region
from geo.selectors import region_index
from maps.cells import (
    customer_scope_tags,
    customer_scopes_apply,
    map_cells_address_removal_delta,
    map_cells_apply,
    map_cells_copies_delta,
    map_cells_delta,
    map_cells_removal_delta,
)

_Q6 = Decimal("0.000001")
_LEVELS = (RegionLevel.COUNTRY, RegionLevel.PROVINCE, RegionLevel.CITY, RegionLevel.DISTRICT)
# Fields captured in history snapshots and compared to decide "changed".
SNAPSHOT_FIELDS = (
    "kind",
    "is_primary",
    "raw_text",
    "detail",
    "postcode",
    "region",
    "lat",
    "lng",
    "precision",
    "geocode_source",
    "verified_at",
    "categories",
)
_UNSET = object()
_ADDRESS_KINDS = {k.value: k for k in AddressKind}


class StaleAddressError(Exception):
    """Raised when an edit was made against an older version of the address."""

    def __init__(self, address: Address, expected_version: int):
        self.address = address
        self.expected_version = expected_version
        super().__init__(
            _(
                "This address was changed by someone else after you opened it (you edited version "
                "%(expected)s, it is now at version %(current)s). Review the current address and apply "
                "your change again."
            )
            % {"expected": expected_version, "current": address.version}
        )


@dataclass
class AddressInput:
    """One address to create (no `address_id`) or update (`address_id` + `expected_version`).

    Leave a field as None to keep it (update) or default it (create). Regions come
    either from `raw_text` (parsed) or from structured codes, which win when given.
    """

    customer_id: int | None = None
    address_id: int | None = None
    expected_version: int | None = None
    kind: str | None = None
    is_primary: bool | None = None
    raw_text: str | None = None
    detail: str | None = None
    postcode: str | None = None
    region_code: str | None = None
    country_code: str | None = None
    province_code: str | None = None
    city_code: str | None = None
    district_code: str | None = None
    lat: float | Decimal | str | None = None
    lng: float | Decimal | str | None = None
    crs: str = CoordinateSystem.WGS84
    precision: str | None = None
    geocode_source: str | None = None
    category_ids: Iterable[int] | None = None
    verified_at: object = _UNSET

    def structured_codes(self) -> list[str]:
        return [
            c
            for c in (
                self.country_code,
                self.province_code,
                self.city_code,
                self.district_code,
                self.region_code,
            )
            if c
        ]


@dataclass
class AddressBatchResult:
    """Outcome of a batch, aligned with its items: an Address or an error dict each."""

    addresses: list[Address | None] = field(default_factory=list)
    errors: dict[int, dict[str, list[str]]] = field(default_factory=dict)
    # Per item: "created", "updated", "unchanged", or None for an item in `errors`.
    statuses: list[str | None] = field(default_factory=list)
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors


class _ItemError(Exception):
    def __init__(self, errors: dict[str, list[str]]):
        self.errors = errors


def _fail(field_name: str, message: str):
    raise _ItemError({field_name: [message]})


def _decimal(value, field_name: str) -> Decimal:
    try:
        d = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        _fail(field_name, _("Enter a number."))
    if not d.is_finite():
        _fail(field_name, _("Enter a number."))
    return d


def _quantize(value: float | Decimal) -> Decimal:
    return Decimal(str(value)).quantize(_Q6, rounding=ROUND_HALF_EVEN)


def _quantized_text(value, _cache: dict = {}) -> str:  # noqa: B006 (a memo: a batch repeats its centroids)
    """str(_quantize(value)), remembered: snapshots of a batch repeat a few thousand points."""
    text = _cache.get(value)
    if text is None:
        if len(_cache) > 100_000:
            _cache.clear()
        text = _cache[value] = str(_quantize(value))
    return text


class _RegionRows:
    """Region rows needed by one batch, fetched in one query per batch."""

    def __init__(self, codes: Iterable[str], ids: Iterable[int] = ()):
        codes, ids = set(codes), set(ids)
        rows = []
        if codes or ids:
            rows = list(
                Region.objects.filter(Q(code__in=in_values(codes, db_type="text")) | Q(pk__in=in_values(ids)))
            )
        successors = {r.successor_id for r in rows if not r.is_active and r.successor_id}
        if successors:
            rows += list(Region.objects.filter(pk__in=successors))
        ancestor_codes = {c for r in rows for c in r.path.split("/") if c} - {r.code for r in rows}
        if ancestor_codes:
            rows += list(Region.objects.filter(code__in=ancestor_codes))
        self.by_code = {r.code: r for r in rows}
        self.by_id = {r.pk: r for r in rows}
        self._chains: dict[int, tuple] = {}
        self._centroids: dict[int, tuple | None] = {}

    def get(self, code: str) -> Region | None:
        region = self.by_code.get(code)
        # Renamed or abolished divisions resolve to today's unit.
        while region is not None and not region.is_active and region.successor_id:
            region = self.by_id.get(region.successor_id)
        return region

    def chain(self, region: Region) -> dict[str, Region]:
        """{level: region} for every ancestor of `region`, itself included."""
        out = {}
        for code in region.path.split("/"):
            r = self.by_code.get(code)
            if r is not None:
                out[r.level] = r
        return out

    def fields(self, region: Region | None) -> tuple[dict, dict]:
        """({attname: id}, {field name: region or None}) of the five region foreign keys."""
        key = region.pk if region is not None else None
        hit = self._chains.get(key)
        if hit is None:
            chain = self.chain(region) if region is not None else {}
            objects = {
                name: region if level is None else chain.get(level) for name, _a, level in _REGION_FIELDS
            }
            ids = {attname: getattr(objects[name], "pk", None) for name, attname, _l in _REGION_FIELDS}
            hit = self._chains[key] = (ids, objects)
        return hit

    def centroid(self, region: Region) -> tuple | None:
        """(lat, lng, precision, source) of the offline geocode of `region`, or None."""
        hit = self._centroids.get(region.pk, _UNSET)
        if hit is _UNSET:
            result = geocoding.offline_result(_region_record(region, self))
            hit = None
            if result is not None:
                hit = (_quantize(result.lat), _quantize(result.lng), result.precision, result.source)
            self._centroids[region.pk] = hit
        return hit


def _resolve_structured(item: AddressInput, rows: _RegionRows) -> Region:
    """The deepest region of a structured chain, after checking that it agrees."""
    given: list[tuple[str, Region]] = []
    for field_name, code in (
        ("country", item.country_code),
        ("province", item.province_code),
        ("city", item.city_code),
        ("district", item.district_code),
        ("region", item.region_code),
    ):
        if not code:
            continue
        region = rows.get(code)
        if region is None:
            _fail(field_name, _("Unknown region code “%(code)s”.") % {"code": code})
        if field_name in _LEVELS and region.level != field_name:
            _fail(
                field_name,
                _("“%(name)s” is a %(level)s, not a %(expected)s.")
                % {"name": region.name, "level": region.get_level_display(), "expected": field_name},
            )
        given.append((field_name, region))
    deepest = max((r for _f, r in given), key=lambda r: len(r.path))
    for field_name, region in given:
        if not deepest.path.startswith(region.path):
            _fail(
                field_name,
                _("“%(inner)s” does not lie in “%(outer)s”.") % {"inner": deepest.name, "outer": region.name},
            )
    return deepest


def _snapshot(address: Address, category_ids: Sequence[int], regions_by_id: dict[int, Region]) -> dict:
    values = address.__dict__  # plain reads: the foreign-key id descriptors cost a call each
    region_id = values["region_id"]
    region = regions_by_id.get(region_id) if region_id else None
    lat, lng, verified_at = values["lat"], values["lng"], values["verified_at"]
    return {
        "kind": values["kind"],
        "is_primary": values["is_primary"],
        "raw_text": values["raw_text"],
        "detail": values["detail"],
        "postcode": values["postcode"],
        "region": region.code if region else None,
        "region_name": region.name if region else None,
        "lat": None if lat is None else _quantized_text(lat),
        "lng": None if lng is None else _quantized_text(lng),
        "precision": values["precision"],
        "geocode_source": values["geocode_source"],
        "verified_at": verified_at.isoformat() if verified_at else None,
        "categories": sorted(category_ids),
    }


# A snapshot's keys in sorted order, each with the JSON text that leads its value.
_SNAPSHOT_KEYS = tuple(sorted(SNAPSHOT_FIELDS + ("region_name",)))
_SNAPSHOT_LEADS = tuple(("{" if i == 0 else ",") + f'"{k}":' for i, k in enumerate(_SNAPSHOT_KEYS))


def _snapshot_json(snapshot: dict) -> str:
    """`_json(snapshot)` for the shape `_snapshot` builds (text, None, booleans and a list of
    ids): the same characters, four times faster; anything else goes to the encoder."""
    if snapshot.keys() != _SNAPSHOT_KEY_SET:
        return _json(snapshot)
    parts = []
    for lead, key in zip(_SNAPSHOT_LEADS, _SNAPSHOT_KEYS):
        value = snapshot[key]
        if value.__class__ is str:
            parts.append(lead + encode_basestring(value))
        elif value is None:
            parts.append(lead + "null")
        elif value is True or value is False:
            parts.append(lead + ("true" if value else "false"))
        elif value.__class__ is list and all(v.__class__ is int for v in value):
            parts.append(lead + "[" + ",".join(map(str, value)) + "]")
        else:
            return _json(snapshot)
    parts.append("}")
    return "".join(parts)


_SNAPSHOT_KEY_SET = frozenset(_SNAPSHOT_KEYS)


# The canonical JSON of history snapshots (addresses.history: the HMAC reads the same text).
_json = canonical_json


def _apply_location(item: AddressInput, address: Address, region: Region | None, region_changed: bool, rows):
    """Set lat/lng/precision/source on `address` from the item, or geocode it."""
    if item.lat not in (None, "") or item.lng not in (None, ""):
        if item.lat in (None, "") or item.lng in (None, ""):
            _fail("lat" if item.lat in (None, "") else "lng", _("Give both latitude and longitude."))
        lat, lng = _decimal(item.lat, "lat"), _decimal(item.lng, "lng")
        if not -90 <= lat <= 90:
            _fail("lat", _("Latitude must be between -90 and 90."))
        if not -180 <= lng <= 180:
            _fail("lng", _("Longitude must be between -180 and 180."))
        try:
            crs = CoordinateSystem(item.crs or CoordinateSystem.WGS84)
        except ValueError:
            _fail("crs", _("Unknown coordinate system “%(crs)s”.") % {"crs": item.crs})
        wlat, wlng = to_wgs84(float(lat), float(lng), crs)
        _check_point_in_region(wlat, wlng, region, rows)
        address.lat, address.lng = _quantize(wlat), _quantize(wlng)
        address.precision = item.precision or GeocodePrecision.ROOFTOP
        address.geocode_source = item.geocode_source or "manual"
        return
    if item.precision == GeocodePrecision.NONE:
        address.lat = address.lng = None
        address.precision, address.geocode_source = GeocodePrecision.NONE, ""
        return
    keep_existing = (
        address.pk is not None
        and not region_changed
        and address.lat is not None
        and PRECISION_RANK[address.precision] <= PRECISION_RANK.get(_level_precision(region), 99)
    )
    if keep_existing:
        # Never silently downgrade: a rooftop point survives edits that do not move the address.
        return
    if region is None:
        if address.pk is None or region_changed:
            address.lat = address.lng = None
            address.precision, address.geocode_source = GeocodePrecision.NONE, ""
        return
    located = rows.centroid(region)
    if located is None:
        address.lat = address.lng = None
        address.precision, address.geocode_source = GeocodePrecision.NONE, ""
    else:
        address.lat, address.lng, address.precision, address.geocode_source = located


# How far a point may lie from its region's centre, by the level of the region whose centroid is
# used: generous enough for the largest divisions (a Xinjiang county, Hulunbuir, Sakha), tight
# enough to catch a lost sign or swapped columns, which land thousands of kilometres away.
_MAX_KM_FROM_CENTRE = {
    RegionLevel.TOWNSHIP: 400,
    RegionLevel.DISTRICT: 400,
    RegionLevel.CITY: 800,
    RegionLevel.PROVINCE: 3000,
}


def _check_point_in_region(lat: float, lng: float, region: Region | None, rows: "_RegionRows") -> None:
    """Refuse a point far outside the address's region (issue #30): 深圳市南山区 at -22.5, -113.9."""
    centre = _region_record(region, rows) if region is not None else None
    limit = _MAX_KM_FROM_CENTRE.get(centre.level) if centre is not None else None
    if limit is None:
        return
    km = haversine_km(lat, lng, float(centre.lat), float(centre.lng))
    if km > limit:
        _fail(
            "lat",
            _(
                "The point %(lat).5f, %(lng).5f lies %(km)s km from %(region)s, more than %(limit)s km "
                "from its centre: check the coordinates (swapped, or a sign lost?), or leave them "
                "empty to locate the address by its region."
            )
            % {"lat": lat, "lng": lng, "km": f"{km:,.0f}", "region": centre.name, "limit": limit},
        )


def _level_precision(region: Region | None) -> str:
    return region.level if region is not None else GeocodePrecision.NONE


def _region_record(region: Region, rows: _RegionRows):
    """The deepest region with a centroid (an ancestor's when it has none)."""
    r = region
    while r is not None and r.lat is None:
        r = rows.by_id.get(r.parent_id)
    return r


_REGION_FIELDS = (
    ("region", "region_id", None),
    ("country", "country_id", RegionLevel.COUNTRY),
    ("province", "province_id", RegionLevel.PROVINCE),
    ("city", "city_id", RegionLevel.CITY),
    ("district", "district_id", RegionLevel.DISTRICT),
)


def _apply_regions(address: Address, region: Region | None, rows: _RegionRows):
    # What `address.<fk> = region` does (id and cached object), minus the descriptor's
    # per-call checks: five foreign keys per address add up in a bulk import.
    ids, objects = rows.fields(region)
    address.__dict__.update(ids)
    address._state.fields_cache.update(objects)


_ADDRESS_PROTOTYPE: dict | None = None


def _new_address(customer_id: int, name: str, stage: str, kind: str, owner_id: int | None) -> Address:
    """A new, unsaved Address with the model's defaults, as `Address(customer_id=...)` builds it.

    Copies a prototype's field values instead of running Model.__init__ (about ten
    times faster; models.Address has no init signals).
    """
    global _ADDRESS_PROTOTYPE
    if _ADDRESS_PROTOTYPE is None:
        _ADDRESS_PROTOTYPE = {k: v for k, v in Address().__dict__.items() if k != "_state"}
    address = Address.__new__(Address)
    values = dict(_ADDRESS_PROTOTYPE)
    values["_state"] = ModelState()
    values["customer_id"] = customer_id
    values["customer_name"] = name
    values["customer_stage"], values["customer_kind"], values["customer_owner_id"] = stage, kind, owner_id
    address.__dict__ = values
    return address


def _parse_texts(texts: dict[int, str]) -> dict[int, "parsing.ParsedAddress"]:
    if not texts:
        return {}
    index = region_index()
    keys = list(texts)
    parsed = parsing.parse_addresses([texts[k] for k in keys], index)
    return dict(zip(keys, parsed))


def _deepest_parsed_code(p) -> str | None:
    for ref in (p.township, p.district, p.city, p.province, p.country):
        if ref is not None:
            return ref.code
    return None


@dataclass(slots=True)
class _Pending:
    """An item that passed validation: the address as it will be written, its categories and,
    for an update, the stored row's snapshot before and after."""

    index: int
    address: Address
    categories: list[int]
    before: dict | None = None
    after: dict | None = None


@dataclass
class _BatchInputs:
    """What a batch reads before it validates: the stored rows it updates (locked), the customers
    and categories its items name, and the regions of their codes and parsed text."""

    existing: dict[int, Address]
    old_points: dict[int, tuple]  # stored map inputs of the rows to update, before the batch
    existing_categories: dict[int, list[int]]
    known_customers: dict[int, list]  # id -> [name, stage, kind, owner id], copied onto new addresses
    known_categories: set[int]
    structured: list[list[str]]  # per item: the region codes it gives
    parsed: dict[int, "parsing.ParsedAddress"]  # per item with free text and no codes
    rows: "_RegionRows"


@transaction.atomic
def addresses_save(
    *, items: Sequence[AddressInput], actor=None, channel: str, dry_run: bool = False
) -> AddressBatchResult:
    """Create or update a batch of addresses through the full pipeline.

    Bad items are reported in `errors` (by position) and skipped; good items are
    written together. Runs in one transaction: the caller's batch boundary.

    A `dry_run` parses, geocodes, validates and compares exactly the same way, fills in
    the same errors, statuses and counts, and writes nothing (no lock, no history, no map
    change). Its items may name customers that `customers_upsert(dry_run=True)` would
    create (ids below zero).
    """
    Channel(channel)
    result = AddressBatchResult(addresses=[None] * len(items), statuses=[None] * len(items))
    inputs = _read_batch(items, dry_run=dry_run)
    to_create, to_update = _validate_batch(items, inputs, result)
    if dry_run:
        for pending, status in [(p, "created") for p in to_create] + [(p, "updated") for p in to_update]:
            result.addresses[pending.index], result.statuses[pending.index] = pending.address, status
        result.created, result.updated = len(to_create), len(to_update)
        return result
    _write_batch(to_create, to_update, inputs, result, actor=actor, channel=channel, now=timezone.now())
    return result


def _read_batch(items: Sequence[AddressInput], *, dry_run: bool) -> _BatchInputs:
    """Load phase: stored rows (locked unless a dry run), customers, categories, parsed text, regions."""
    update_ids = [it.address_id for it in items if it.address_id]
    existing_rows = Address.objects.filter(pk__in=in_values(update_ids)).order_by("pk")
    if not dry_run:
        existing_rows = existing_rows.select_for_update()
    existing = {a.pk: a for a in existing_rows} if update_ids else {}
    existing_categories: dict[int, list[int]] = {}
    if existing:
        for address_id, category_id in Address.categories.through.objects.filter(
            address_id__in=existing
        ).values_list("address_id", "addresscategory_id"):
            existing_categories.setdefault(address_id, []).append(category_id)
    wanted_categories = {c for it in items if it.category_ids for c in it.category_ids}
    known_categories = (
        set(AddressCategory.objects.filter(pk__in=wanted_categories).values_list("pk", flat=True))
        if wanted_categories
        else set()
    )
    structured, parsed = _parse_items(items)
    codes = [c for item_codes in structured for c in item_codes]
    codes += [c for p in parsed.values() if (c := _deepest_parsed_code(p))]
    return _BatchInputs(
        existing=existing,
        old_points={
            pk: (a.lat, a.lng, a.province_id, a.city_id, a.district_id) for pk, a in existing.items()
        },
        existing_categories=existing_categories,
        known_customers=_known_customers(items, dry_run=dry_run),
        known_categories=known_categories,
        structured=structured,
        parsed=parsed,
        rows=_RegionRows(codes, ids=[a.region_id for a in existing.values() if a.region_id]),
    )


def _known_customers(items: Sequence[AddressInput], *, dry_run: bool) -> dict[int, list]:
    """The customers new addresses belong to, with the name / stage / kind / owner each new address
    copies (for the list's region pages and the map's filters; see Address.customer_name)."""
    customer_ids = {it.customer_id for it in items if it.customer_id and not it.address_id}
    if not customer_ids:
        return {}
    copied = Customer.objects.filter(pk__in=in_values(customer_ids)).values_list(
        "pk", "name", "stage", "kind", "owner_id"
    )
    known = {pk: rest for pk, *rest in copied}
    if dry_run:  # customers the same dry run would create: their copies do not matter here
        known.update({pk: ["", "", "", None] for pk in customer_ids if pk < 0})
    return known


def _parse_items(items: Sequence[AddressInput]) -> tuple[list[list[str]], dict]:
    """Each item's structured codes, and the parsed free text of items that give text and no codes."""
    structured = [it.structured_codes() for it in items]
    texts = {}
    for i, it in enumerate(items):
        if it.raw_text is not None:
            it.raw_text = it.raw_text.strip()
        if it.raw_text and not structured[i]:
            texts[i] = it.raw_text
    return structured, _parse_texts(texts)


def _validate_batch(
    items: Sequence[AddressInput], inputs: _BatchInputs, result: AddressBatchResult
) -> tuple[list[_Pending], list[_Pending]]:
    """Validate phase: each item becomes a pending creation or update, or an error in `result`
    (an unchanged update is settled in `result` at once)."""
    to_create: list[_Pending] = []
    to_update: list[_Pending] = []
    primaries: set[tuple[int, str]] = set()
    for i, it in enumerate(items):
        try:
            pending = _prepare_item(i, it, inputs, primaries)
        except _ItemError as exc:
            result.errors[i] = exc.errors
            continue
        except StaleAddressError as exc:
            result.errors[i] = {"__all__": [str(exc)]}
            if len(items) == 1:
                raise
            continue
        if pending.before is None:
            to_create.append(pending)
        elif pending.after == pending.before:
            result.addresses[i], result.statuses[i] = pending.address, "unchanged"
            result.unchanged += 1
        else:
            to_update.append(pending)
    return to_create, to_update


def _prepare_item(i: int, it: AddressInput, inputs: _BatchInputs, primaries: set) -> _Pending:
    """One item applied to its stored (or a new) address and checked; raises _ItemError."""
    rows = inputs.rows
    if it.address_id:
        address = inputs.existing.get(it.address_id)
        if address is None:
            _fail("address", _("This address no longer exists."))
        if it.expected_version is not None and it.expected_version != address.version:
            raise StaleAddressError(address, it.expected_version)
        cats_before = sorted(inputs.existing_categories.get(address.pk, []))
        before = _snapshot(address, cats_before, rows.by_id)
    else:
        if it.customer_id not in inputs.known_customers:
            _fail("customer", _("Unknown customer."))
        address = _new_address(it.customer_id, *inputs.known_customers[it.customer_id])
        cats_before, before = [], None
    _apply_plain_fields(it, address)
    _apply_item_location(i, it, address, before, inputs)
    _check_address(address, rows)
    cats = _item_categories(it, cats_before, inputs.known_categories)
    if address.is_primary:
        key = (address.customer_id, address.kind)
        if key in primaries:
            _fail("is_primary", _("Only one primary address per kind."))
        primaries.add(key)
    after = _snapshot(address, cats, rows.by_id) if before is not None else None
    return _Pending(i, address, cats, before, after)


def _apply_plain_fields(it: AddressInput, address: Address) -> None:
    """Kind, primary flag, text, postcode, detail and verification date, as given."""
    if it.kind is not None:
        kind = _ADDRESS_KINDS.get(it.kind)
        if kind is None:
            _fail("kind", _("Unknown address kind “%(kind)s”.") % {"kind": it.kind})
        address.kind = kind
    if it.is_primary is not None:
        address.is_primary = bool(it.is_primary)
    if it.raw_text is not None:
        address.raw_text = it.raw_text
    if it.postcode is not None:
        address.postcode = it.postcode.strip()
    if it.detail is not None:
        address.detail = it.detail.strip()
    if it.verified_at is not _UNSET:
        address.verified_at = it.verified_at


def _apply_item_location(i: int, it: AddressInput, address: Address, before, inputs: _BatchInputs) -> None:
    """Regions (structured codes, parsed text, or the stored ones), then the point."""
    rows = inputs.rows
    old_region_id = address.region_id
    if inputs.structured[i]:
        region = _resolve_structured(it, rows)
    elif i in inputs.parsed:
        p = inputs.parsed[i]
        code = _deepest_parsed_code(p)
        region = rows.get(code) if code else None
        if it.detail is None:
            address.detail = p.detail
        if it.postcode is None and p.postcode:
            address.postcode = p.postcode
    else:
        region = rows.by_id.get(address.region_id) if address.region_id else None
    _apply_regions(address, region, rows)
    region_changed = address.pk is None or address.region_id != old_region_id
    if address.pk is not None and before is not None and it.raw_text is not None:
        region_changed = region_changed or address.detail != before["detail"]
    _apply_location(it, address, region, region_changed, rows)


def _check_address(address: Address, rows: "_RegionRows") -> None:
    """Lengths, the Chinese postcode, and that there is an address at all."""
    if len(address.detail) > 300:
        _fail("detail", _("The detail line is too long (at most 300 characters)."))
    if len(address.postcode) > 20:
        _fail("postcode", _("The postcode is too long."))
    country = rows.by_id.get(address.country_id) if address.postcode else None
    if country is not None and country.code == "CN":
        if not (len(address.postcode) == 6 and address.postcode.isdigit()):
            _fail("postcode", _("A Chinese postcode has six digits."))
    if not (address.raw_text or address.detail or address.region_id):
        _fail("raw_text", _("Enter an address."))


def _item_categories(it: AddressInput, cats_before: list[int], known: set[int]) -> list[int]:
    if it.category_ids is None:
        return cats_before
    cats = sorted(set(it.category_ids))
    if any(c not in known for c in cats):
        _fail("categories", _("Unknown category."))
    return cats


_UPDATED_FIELDS = [
    "kind", "is_primary", "raw_text", "detail", "postcode", "region", "country", "province", "city",
    "district", "lat", "lng", "precision", "geocode_source", "verified_at", "version", "updated_at",
    "map_key", "customer_scopes", "search_keys",
]  # fmt: skip


def _write_batch(
    to_create: list[_Pending], to_update: list[_Pending], inputs: _BatchInputs, result: AddressBatchResult,
    *, actor, channel: str, now,
) -> None:  # fmt: skip
    """Write phase: rows, categories, one history version each, then the map's cells (last: the
    upsert locks the cells it touches until commit)."""
    created = [p.address for p in to_create]
    updated = [p.address for p in to_update]
    for a in (*created, *updated):
        a.search_keys = search_keys(f"{a.raw_text} {a.detail}")
    _demote_other_primaries(created, updated, actor=actor, channel=channel, now=now, rows=inputs.rows)
    # Computing the map delta sets map_key and customer_scopes on the rows about to be written.
    map_delta = map_cells_delta(
        created=created,
        updated=updated,
        old=inputs.old_points,
        categories=[p.categories for p in (*to_create, *to_update)],
    )
    # New addresses already carry their customer's copies (name, stage, kind, owner): _new_address
    # took them from the known-customers query.
    if created:
        bulk_insert(Address, created, now=now)
    if updated:
        for a in updated:
            a.version += 1
            a.updated_at = now
        Address.objects.bulk_update(updated, _UPDATED_FIELDS)
    _write_categories(to_create, to_update)
    versions = [(p.address, None, _snapshot(p.address, p.categories, inputs.rows.by_id)) for p in to_create]
    versions += [(p.address, p.before, p.after) for p in to_update]
    for pending, status in [(p, "created") for p in to_create] + [(p, "updated") for p in to_update]:
        result.addresses[pending.index], result.statuses[pending.index] = pending.address, status
    result.created += len(to_create)
    result.updated += len(to_update)
    _write_versions(versions, actor=actor, channel=channel, now=now)
    _announce(created, updated, actor=actor, channel=channel)
    customer_scopes_apply(map_delta.sibling_tags)
    map_cells_apply(map_delta.cells)


_PRECISE = {GeocodePrecision.ROOFTOP, GeocodePrecision.STREET}


def _announce(created: list[Address], updated: list[Address], *, actor, channel: str) -> None:
    """Tell subscribers (addresses.receivers: refinement by an online geocoder; webhooks) which
    addresses this batch wrote, once the transaction commits."""
    if not created and not updated:
        return
    created_ids = [a.pk for a in created]
    updated_ids = [a.pk for a in updated]
    coarse_ids = [a.pk for a in (*created, *updated) if a.precision not in _PRECISE]
    actor_id = actor.pk if actor is not None and getattr(actor, "is_authenticated", False) else None
    transaction.on_commit(
        lambda: addresses_committed.send(
            sender=Address,
            created_ids=created_ids,
            updated_ids=updated_ids,
            coarse_ids=coarse_ids,
            channel=channel,
            actor_id=actor_id,
        )
    )


def _demote_other_primaries(created: list[Address], updated: list[Address], *, actor, channel, now, rows):
    """Making an address primary unsets the previous primary of that customer and kind."""
    keys = {(a.customer_id, a.kind) for a in (*created, *updated) if a.is_primary}
    if not keys:
        return
    keep = {a.pk for a in updated}
    # One indexed IN over customers, then exact (customer, kind) pairs in Python:
    # a large OR of pairs is slow to plan and execute.
    candidates = Address.objects.select_for_update().filter(
        customer_id__in=in_values({c for c, _k in keys}), is_primary=True
    )
    others = [a for a in candidates if (a.customer_id, a.kind) in keys and a.pk not in keep]
    if not others:
        return
    cats = {}
    for address_id, category_id in Address.categories.through.objects.filter(
        address_id__in=[o.pk for o in others]
    ).values_list("address_id", "addresscategory_id"):
        cats.setdefault(address_id, []).append(category_id)
    region_ids = {o.region_id for o in others if o.region_id and o.region_id not in rows.by_id}
    regions_by_id = dict(rows.by_id)
    regions_by_id.update({r.pk: r for r in Region.objects.filter(pk__in=region_ids)})
    versions = []
    for other in others:
        before = _snapshot(other, sorted(cats.get(other.pk, [])), regions_by_id)
        other.is_primary = False
        other.version += 1
        other.updated_at = now
        versions.append((other, before, {**before, "is_primary": False}))
    Address.objects.bulk_update(others, ["is_primary", "version", "updated_at"])
    _write_versions(versions, actor=actor, channel=channel, now=now)


def _write_categories(to_create: list[_Pending], to_update: list[_Pending]) -> None:
    Through = Address.categories.through
    if to_update:
        Through.objects.filter(address_id__in=[p.address.pk for p in to_update]).delete()
    links = [(p.address.pk, c) for p in (*to_create, *to_update) for c in p.categories]
    bulk_insert_rows(Through, ("address_id", "addresscategory_id"), links)


def _write_versions(entries, *, actor, channel, now):
    """One AddressVersion per (address, before, after), chained to the previous version by its
    keyed hash (addresses.history), and the chains' heads moved to the new rows."""
    if not entries:
        return
    # The chain links each row to the address's previous version (version - 1).
    updated = {a.pk: a.version - 1 for a, _b, _a in entries if a.version > 1}
    prev = {}
    if updated:
        for address_id, version, h in AddressVersion.objects.filter(address_id__in=list(updated)).values_list(
            "address_id", "version", "hash"
        ):
            if updated[address_id] == version:
                prev[address_id] = h
    authenticated = actor is not None and getattr(actor, "is_authenticated", False)
    actor_id = actor.pk if authenticated else None
    actor_name = actor.get_username() if authenticated else ""
    base = history.batch_mac(actor_id=actor_id, actor_name=actor_name, channel=channel, created_at=now)
    rows, heads = [], []
    created_fields = None
    for address, before, after in entries:
        if before is None:
            # A creation changes every field (snapshots share their keys).
            if created_fields is None:
                created_fields = JsonText(_json(sorted(after)))
            changed = created_fields
            before_json = "null"
        else:
            changed = JsonText(_json(sorted(k for k in after if before.get(k) != after.get(k))))
            before_json = JsonText(_snapshot_json(before))
        after_json = JsonText(_snapshot_json(after))
        values = address.__dict__
        pk, version, customer_id = values["id"], values["version"], values["customer_id"]
        prev_hash = prev.get(pk, "")
        h = history.row_mac(
            base,
            address_id=pk,
            customer_id=customer_id,
            version=version,
            before=before_json,
            after=after_json,
            changed=changed,
            prev_hash=prev_hash,
        )
        rows.append(
            (
                pk,
                customer_id,
                version,
                actor_id,
                actor_name,
                channel,
                now,
                None if before is None else before_json,
                after_json,
                changed,
                prev_hash,
                h,
            )
        )
        heads.append(HistoryHead(address_id=pk, version=version, hash=h))
    bulk_insert_rows(AddressVersion, _VERSION_FIELDS, rows)
    HistoryHead.objects.bulk_create(
        heads, update_conflicts=True, unique_fields=["address_id"], update_fields=["version", "hash"]
    )


_VERSION_FIELDS = (
    "address_id",
    "customer_id",
    "version",
    "actor_id",
    "actor_name",
    "channel",
    "created_at",
    "before",
    "after",
    "changed_fields",
    "prev_hash",
    "hash",
)


def _single(result: AddressBatchResult) -> Address:
    if result.errors:
        raise ValidationError(result.errors[0])
    return result.addresses[0]


def address_create(*, customer: Customer, actor=None, channel: str = Channel.FORM, **fields) -> Address:
    """Create one address for `customer` (the batch call with one item)."""
    item = AddressInput(customer_id=customer.pk, **fields)
    return _single(addresses_save(items=[item], actor=actor, channel=channel))


class FirstAddressInvalid(ValidationError):
    """The first address of a new customer failed validation: nothing was created."""


@transaction.atomic
def customer_with_address_create(
    *, customer_fields: dict, address_fields: dict | None, actor=None, channel: str = Channel.FORM
) -> Customer:
    """Create a customer and, when `address_fields` are given, its first address, as one unit: a
    bad address creates neither (FirstAddressInvalid carries the address's errors; the customer's
    own errors come as a plain ValidationError)."""
    customer = customer_create(actor=actor, **customer_fields)
    if address_fields is not None:
        try:
            address_create(customer=customer, actor=actor, channel=channel, **address_fields)
        except ValidationError as exc:
            raise FirstAddressInvalid(exc.error_dict if hasattr(exc, "error_dict") else exc.messages) from exc
    return customer


def address_update(
    *, address: Address, expected_version: int | None, actor=None, channel: str = Channel.FORM, **changes
) -> Address:
    """Change one address; refuses (StaleAddressError) if it moved past `expected_version`."""
    item = AddressInput(address_id=address.pk, expected_version=expected_version, **changes)
    return _single(addresses_save(items=[item], actor=actor, channel=channel))


@transaction.atomic
def addresses_move(
    *,
    address_ids: Sequence[int],
    customer: Customer,
    primary: dict[int, bool] | None = None,
    actor=None,
    channel: str = Channel.SYSTEM,
) -> list[Address]:
    """Give addresses to another customer (a merge of customers, or its undo), keeping their
    ids, categories and history, with one history row each (its snapshots carry the customer).
    `primary` sets the primary flag per address; a moved primary that would clash with one the
    customer already has becomes secondary."""
    Channel(channel)
    moving = list(Address.objects.select_for_update().filter(pk__in=in_values(address_ids)).order_by("pk"))
    if not moving:
        return []
    moved_ids = {a.pk for a in moving}
    affected = sorted({a.customer_id for a in moving} | {customer.pk})
    map_cells_apply(map_cells_removal_delta(customer_ids=affected))
    categories: dict[int, list[int]] = {}
    through = Address.categories.through.objects.filter(address_id__in=in_values(moved_ids))
    for address_id, category_id in through.values_list("address_id", "addresscategory_id"):
        categories.setdefault(address_id, []).append(category_id)
    regions = {r.pk: r for r in Region.objects.filter(pk__in={a.region_id for a in moving if a.region_id})}
    taken = set(
        Address.objects.filter(customer=customer, is_primary=True)
        .exclude(pk__in=moved_ids)
        .values_list("kind", flat=True)
    )
    now, versions = timezone.now(), []
    for a in moving:
        cats = sorted(categories.get(a.pk, []))
        before = {**_snapshot(a, cats, regions), "customer": a.customer_id}
        want = (primary or {}).get(a.pk, a.is_primary)
        a.is_primary = bool(want) and a.kind not in taken
        if a.is_primary:
            taken.add(a.kind)
        a.customer_id = customer.pk
        a.customer_name, a.customer_stage, a.customer_kind = customer.name, customer.stage, customer.kind
        a.customer_owner_id = customer.owner_id
        a.version += 1
        a.updated_at = now
        versions.append((a, before, {**_snapshot(a, cats, regions), "customer": customer.pk}))
    Address.objects.bulk_update(
        moving,
        ["customer", "customer_name", "customer_stage", "customer_kind", "customer_owner", "is_primary",
         "version", "updated_at"],
    )  # fmt: skip
    _write_versions(versions, actor=actor, channel=channel, now=now)
    _refresh_customer_scopes(affected)
    map_cells_apply(map_cells_removal_delta(customer_ids=affected, sign=1))
    _announce([], moving, actor=actor, channel=channel)
    addresses_data_changed()
    return moving


def _refresh_customer_scopes(customer_ids: Sequence[int]) -> None:
    """Recompute `customer_scopes` of every address of these customers (their regions and
    categories changed as a whole)."""
    rows = list(
        Address.objects.filter(customer_id__in=in_values(customer_ids))
        .order_by()
        .values_list("pk", "customer_id", "country_id", "province_id", "city_id", "district_id")
    )
    categories: dict[int, list[int]] = {}
    through = Address.categories.through.objects.filter(address_id__in=in_values([r[0] for r in rows]))
    for address_id, category_id in through.values_list("address_id", "addresscategory_id"):
        categories.setdefault(address_id, []).append(category_id)
    by_customer: dict[int, list] = {}
    for pk, customer_id, *regions in rows:
        # customer_scope_tags reads tuples in maps.cells' _SCOPE_COLUMNS order plus categories.
        row = (customer_id, None, None, *regions, None, None, None, categories.get(pk, ()))
        by_customer.setdefault(customer_id, []).append((pk, row))
    tags = []
    for pairs in by_customer.values():
        text = customer_scope_tags([row for _pk, row in pairs])
        tags += [(pk, text) for pk, _row in pairs]
    customer_scopes_apply(tags)


def address_history_verify(*, address: Address) -> list[int]:
    """Versions whose hash or chain link does not match their content (empty = intact); a chain
    shorter than its head or its address says (rows deleted) lists the missing version numbers."""
    broken, prev_hash, last = [], "", 0
    for v in AddressVersion.objects.filter(address_id=address.pk).order_by("version"):
        expected = history.version_mac(
            address_id=v.address_id,
            customer_id=v.customer_id,
            version=v.version,
            actor_id=v.actor_id,
            actor_name=v.actor_name,
            channel=v.channel,
            created_at=v.created_at,
            before=v.before,
            after=v.after,
            changed_fields=v.changed_fields,
            prev_hash=v.prev_hash,
        )
        if not history.macs_equal(v.hash, expected) or v.prev_hash != prev_hash or v.version != last + 1:
            broken.append(v.version)
        prev_hash, last = v.hash, v.version
    head = HistoryHead.objects.filter(address_id=address.pk).first()
    expected_last = max(address.version, head.version if head else 0)
    broken += range(last + 1, expected_last + 1)
    if head is not None and head.version == last and head.hash != prev_hash:
        broken.append(last)
    return sorted(set(broken))


def addresses_categorize(
    *,
    address_ids: Sequence[int],
    add: Sequence[int] = (),
    remove: Sequence[int] = (),
    actor=None,
    channel: str = Channel.FORM,
) -> AddressBatchResult:
    """Add and/or remove categories on many addresses (one history row per changed address)."""
    add, remove = set(add), set(remove)
    current: dict[int, set[int]] = {pk: set() for pk in address_ids}
    for address_id, category_id in Address.categories.through.objects.filter(
        address_id__in=list(current)
    ).values_list("address_id", "addresscategory_id"):
        current[address_id].add(category_id)
    existing = set(Address.objects.filter(pk__in=list(current)).values_list("pk", flat=True))
    items = [
        AddressInput(address_id=pk, category_ids=sorted((cats | add) - remove))
        for pk, cats in current.items()
        if pk in existing and (cats | add) - remove != cats
    ]
    if not items:
        return AddressBatchResult()
    return addresses_save(items=items, actor=actor, channel=channel)


def addresses_customer_copies_refresh(*, customer_ids: Iterable[int]) -> int:
    """Copy name, stage, kind and owner from customers onto their addresses; returns rows changed.

    Runs in the transaction of the customer change (customers.signals.customers_changed).
    """
    ids = list(customer_ids)
    if not ids:
        return 0
    changed = 0
    for i in range(0, len(ids), 5000):
        part = ids[i : i + 5000]
        map_cells_apply(map_cells_copies_delta(customer_ids=part))  # scoped cells, before the copies change
        changed += _copy_customer_fields(part)
    if changed:
        addresses_data_changed()
    return changed


@transaction.atomic
def addresses_customer_copies_rebuild() -> int:
    """Recompute every address's copy of its customer's name, stage, kind and owner (a repair,
    run by `manage.py map_rebuild` before it recomputes the cells); returns rows changed."""
    changed = _copy_customer_fields(None)
    if changed:
        addresses_data_changed()
    return changed


def _copy_customer_fields(customer_ids: list[int] | None) -> int:
    """One UPDATE of the copies that differ, for these customers (every customer when None)."""
    if connection.vendor == "postgresql":
        table = Address._meta.db_table
        only = "AND a.customer_id = ANY(%s) " if customer_ids is not None else ""
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} a SET customer_name = c.name, customer_stage = c.stage, "  # noqa: S608
                "customer_kind = c.kind, customer_owner_id = c.owner_id FROM customers_customer c "
                f"WHERE c.id = a.customer_id {only}AND "
                "(a.customer_name, a.customer_stage, a.customer_kind, a.customer_owner_id) "
                "IS DISTINCT FROM (c.name, c.stage, c.kind, c.owner_id)",
                [customer_ids] if customer_ids is not None else [],
            )
            return cursor.rowcount
    # SQLite (small databases): compare in Python, then update the rows that differ.
    addresses = Address.objects.order_by()
    if customer_ids is not None:
        addresses = addresses.filter(customer_id__in=customer_ids)
    copies = ("customer_name", "customer_stage", "customer_kind", "customer_owner_id")
    truth = ("customer__name", "customer__stage", "customer__kind", "customer__owner_id")
    stale = [pk for pk, *values in addresses.values_list("pk", *copies, *truth) if values[:4] != values[4:]]
    customer = Customer.objects.filter(pk=OuterRef("customer_id"))
    for i in range(0, len(stale), 500):
        Address.objects.filter(pk__in=stale[i : i + 500]).update(
            customer_name=Subquery(customer.values("name")[:1]),
            customer_stage=Subquery(customer.values("stage")[:1]),
            customer_kind=Subquery(customer.values("kind")[:1]),
            customer_owner_id=Subquery(customer.values("owner_id")[:1]),
        )
    return len(stale)


COPIED_CUSTOMER_FIELDS = {"name", "stage", "kind", "owner", "owner_id"}


def addresses_customers_changed(*, customer_ids: Sequence[int], fields: set[str]) -> int:
    """Keep the addresses' copies of these customers true after `fields` changed (same transaction)."""
    if not COPIED_CUSTOMER_FIELDS.intersection(fields):
        return 0
    return addresses_customer_copies_refresh(customer_ids=customer_ids)


def addresses_customers_forget(*, customer_ids: Sequence[int], actor=None) -> None:
    """Take the addresses of customers about to be deleted off the map (their rows go by cascade)
    and close each one's history with a tombstone: the history stays, and says who deleted it."""
    _write_tombstones(
        list(Address.objects.filter(customer_id__in=in_values(customer_ids)).select_related("region")),
        actor=actor,
        now=timezone.now(),
    )
    map_cells_apply(map_cells_removal_delta(customer_ids=customer_ids))
    addresses_data_changed()


# -- trash -------------------------------------------------------------------------------


def addresses_archive(*, customer_ids: Sequence[int]) -> dict[int, list[dict]]:
    """{customer id: its addresses as trash rows (the row, its categories, its history)}."""
    addresses = list(Address.objects.filter(customer_id__in=list(customer_ids)).order_by("pk"))
    return {
        cid: [e for a, e in zip(addresses, _trash_rows(addresses)) if a.customer_id == cid]
        for cid in customer_ids
    }


def _trash_rows(addresses: list[Address]) -> list[dict]:
    """The rows a restore needs. The history is not among them: it stays where it is (no one may
    delete it), closed by the deletion's tombstone and continued by the restore's version."""
    ids = [a.pk for a in addresses]
    categories: dict[int, list[int]] = {}
    for address_id, category_id in Address.categories.through.objects.filter(address_id__in=ids).values_list(
        "address_id", "addresscategory_id"
    ):
        categories.setdefault(address_id, []).append(category_id)
    return [
        {"address": model_rows(a, exclude=("search_keys",)), "categories": sorted(categories.get(a.pk, ()))}
        for a in addresses
    ]


@transaction.atomic
def address_delete(*, address: Address, actor=None) -> TrashItem:
    """Move one address, with its history, to the trash (restorable for settings.TRASH_DAYS days
    with `address_restore`); the customer's map scopes follow."""
    customer = Customer.objects.get(pk=address.customer_id)
    (rows,) = _trash_rows([address])
    item = TrashItem.objects.create(
        kind=TrashKind.ADDRESS,
        customer_id=customer.pk,
        object_id=address.pk,
        label=address.one_line()[:400],
        customer_name=customer.name,
        payload={"address": rows},
        deleted_by=actor if actor is not None and actor.is_authenticated else None,
        deleted_at=timezone.now(),
    )
    map_delta = map_cells_address_removal_delta(address_ids=[address.pk])
    _write_tombstones(
        list(Address.objects.filter(pk=address.pk).select_related("region")), actor=actor, now=item.deleted_at
    )
    Address.objects.filter(pk=address.pk).delete()  # its category links by cascade; history stays
    customer_scopes_apply(map_delta.sibling_tags)
    map_cells_apply(map_delta.cells)
    addresses_data_changed()
    return item


@transaction.atomic
def address_restore(*, item: TrashItem, actor=None) -> Address:
    """Bring an address back from the trash with the same id and its history (the chain still
    verifies). Its customer must exist; a primary address comes back as primary only if its
    customer has no other primary of that kind by now."""
    item = trash_item_for_restore(item=item, kind=TrashKind.ADDRESS)
    if not Customer.objects.filter(pk=item.customer_id).exists():
        raise ValidationError(_("Its customer was deleted too: restore the customer first."))
    if Address.objects.filter(pk=item.object_id).exists():
        raise ValidationError(_("This address exists already."))
    (address,) = addresses_put_back(entries=[item.payload["address"]], actor=actor)
    addresses_customer_copies_refresh(customer_ids=[address.customer_id])
    trash_item_restored(item=item, actor=actor)
    return address


def addresses_put_back(*, entries: Sequence[dict], actor=None) -> list[Address]:
    """Insert addresses from trash rows with their ids and categories (those that still exist),
    onto the map as new addresses are (run inside the restoring transaction). Each one's history
    goes on from its deletion's tombstone with a version that restores it (the chain verifies)."""
    addresses = [Address(**model_values(Address, e["address"])) for e in entries]
    heads = dict(
        HistoryHead.objects.filter(pk__in=[a.pk for a in addresses]).values_list("address_id", "version")
    )
    for a in addresses:
        a.version = heads.get(a.pk, a.version) + 1
    existing = set(AddressCategory.objects.values_list("pk", flat=True))
    categories = [[c for c in e["categories"] if c in existing] for e in entries]
    for a in addresses:
        if (
            a.is_primary
            and Address.objects.filter(customer_id=a.customer_id, kind=a.kind, is_primary=True).exists()
        ):
            a.is_primary = False
    created_at = {a.pk: a.created_at for a in addresses}
    map_delta = map_cells_delta(created=addresses, updated=[], categories=categories)
    Address.objects.bulk_create(addresses)
    for pk, when in created_at.items():  # auto_now_add stamped the insert
        Address.objects.filter(pk=pk).update(created_at=when)
    links = [(a.pk, c) for a, cats in zip(addresses, categories) for c in cats]
    bulk_insert_rows(Address.categories.through, ("address_id", "addresscategory_id"), links)
    regions = {r.pk: r for r in Region.objects.filter(pk__in={a.region_id for a in addresses if a.region_id})}
    _write_versions(
        [
            (a, {"deleted": True}, _snapshot(a, sorted(cats), regions))
            for a, cats in zip(addresses, categories)
        ],
        actor=actor,
        channel=Channel.FORM,
        now=timezone.now(),
    )
    customer_scopes_apply(map_delta.sibling_tags)
    map_cells_apply(map_delta.cells)
    addresses_data_changed()
    return addresses


def _write_tombstones(addresses: list[Address], *, actor, now) -> None:
    """A last version (channel `deletion`, after = {"deleted": true}) for addresses about to go."""
    if not addresses:
        return
    cats: dict[int, list[int]] = {}
    for address_id, category_id in Address.categories.through.objects.filter(
        address_id__in=[a.pk for a in addresses]
    ).values_list("address_id", "addresscategory_id"):
        cats.setdefault(address_id, []).append(category_id)
    regions = {a.region_id: a.region for a in addresses if a.region_id}
    entries = []
    for address in addresses:
        before = _snapshot(address, sorted(cats.get(address.pk, [])), regions)
        address.version += 1
        entries.append((address, before, {"deleted": True}))
    _write_versions(entries, actor=actor, channel=Channel.DELETION, now=now)
