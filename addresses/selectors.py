"""Reads for the customer page, the address forms and the category pages.

Every selector takes `user` and starts from `Customer.objects.visible_to(user)`,
so a customer or address the user may not see is simply not found (404).
"""

from dataclasses import dataclass, field
from datetime import datetime

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Count, Prefetch, Q
from django.http import Http404
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _

from addresses.choices import AddressKind, Channel
from addresses.models import Address, AddressCategory, AddressVersion
from customers.choices import TrashKind
from customers.models import Customer, TrashItem
from geo.choices import GeocodePrecision
from geo.models import Region

HISTORY_LIMIT = 100
_GEOCODE_SOURCES = {"offline": _("offline (region centre)"), "manual": _("set by hand")}

# Fields of a history snapshot in the order a person reads them, with their labels.
_HISTORY_FIELDS = (
    ("kind", _("Kind")),
    ("is_primary", _("Primary")),
    ("region", _("Region")),
    ("detail", _("Detail line")),
    ("postcode", _("Postcode")),
    ("raw_text", _("Address as entered")),
    ("location", _("Location")),
    ("precision", _("Geocode precision")),
    ("geocode_source", _("Geocode source")),
    ("verified_at", _("Verified")),
    ("categories", _("Categories")),
)


def visible_addresses(*, user):
    """Addresses of the customers the user may see."""
    return Address.objects.filter(customer__in=Customer.objects.visible_to(user))


def _with_regions(qs):
    return qs.select_related("country", "province", "city", "district", "region")


def customer_addresses(*, customer: Customer) -> list[Address]:
    """A (visible) customer's addresses, primary first, with regions and categories."""
    return list(
        _with_regions(customer.addresses.all()).prefetch_related(
            Prefetch("categories", queryset=AddressCategory.objects.order_by("name"))
        )
    )


def address_get(*, user, pk: int) -> Address:
    """The address `pk` if its customer is visible to the user, else Http404."""
    address = (
        _with_regions(visible_addresses(user=user))
        .select_related("customer")
        .prefetch_related(Prefetch("categories", queryset=AddressCategory.objects.order_by("name")))
        .filter(pk=pk)
        .first()
    )
    if address is None:
        raise Http404
    return address


# -- history ------------------------------------------------------------------


@dataclass
class FieldChange:
    label: str
    before: str
    after: str


@dataclass
class HistoryEntry:
    version: AddressVersion
    address_id: int
    address_label: str
    created: bool
    changes: list[FieldChange] = field(default_factory=list)

    @property
    def actor_name(self) -> str:
        """Who made the change: the user as they are now, or the name the row recorded if they
        have since been deleted; without a user, what did (the channel says it, so it is not
        shown twice: "System · System" read like a stutter)."""
        if self.version.actor_id is None:
            return str(_NO_ACTOR.get(self.version.channel, _("Deleted user")))
        actor = _existing_actor(self.version)
        if actor is not None:
            return actor.get_full_name() or actor.get_username()
        return self.version.actor_name or str(_("Deleted user"))

    @property
    def show_channel(self) -> bool:
        return self.version.actor_id is not None

    trash = False

    @property
    def when(self) -> datetime:
        return self.version.created_at


@dataclass
class TrashEntry:
    """A deletion or a restore of the customer or one of its addresses, in its history."""

    item: TrashItem
    restored: bool
    trash = True

    @property
    def when(self) -> datetime:
        return self.item.restored_at if self.restored else self.item.deleted_at

    @property
    def actor_name(self) -> str:
        actor = self.item.restored_by if self.restored else self.item.deleted_by
        if actor is None:
            return str(_("Deleted user"))
        return actor.get_full_name() or actor.get_username()

    @property
    def text(self) -> str:
        if self.item.kind == TrashKind.CUSTOMER:
            return str(
                _("Restored the customer from the trash") if self.restored else _("Deleted the customer")
            )
        return str(_("Restored address") if self.restored else _("Deleted address"))

    @property
    def label(self) -> str:
        return self.item.label if self.item.kind == TrashKind.ADDRESS else ""

    @property
    def css(self) -> str:
        return "restored" if self.restored else "deleted"


# Changes made without a signed-in user, by channel; a form or admin change whose user has since
# been deleted (actor set to NULL) falls back to "Deleted user".
_NO_ACTOR = {
    Channel.SYSTEM: _("Automatic update"),
    Channel.IMPORT: _("File import"),
    Channel.SELF_SERVICE: _("The customer, by self-service link"),
    Channel.API: _("API integration"),
}


def _existing_actor(version: AddressVersion):
    """The version's user if it still exists (actor ids outlive their users: no constraint)."""
    try:
        return version.actor
    except ObjectDoesNotExist:
        return None


def customer_history(*, customer: Customer, limit: int = HISTORY_LIMIT) -> list[HistoryEntry]:
    """The newest changes to a (visible) customer's addresses, each as before → after per field."""
    # Rows written while an address belonged to another customer (before a merge) come with it:
    # PostgreSQL ORs the customer_id index and the (address, version) index.
    moved_in = Address.objects.filter(customer_id=customer.pk).values("pk")
    versions = list(
        AddressVersion.objects.filter(Q(customer_id=customer.pk) | Q(address_id__in=moved_in))
        .select_related("actor")
        .order_by("-created_at", "-version", "-pk")[:limit]
    )
    if not versions:
        return []
    snapshots = [s for v in versions for s in (v.before, v.after) if s]
    region_names = _region_chains({s["region"] for s in snapshots if s.get("region")})
    category_ids = {c for s in snapshots for c in s.get("categories") or ()}
    category_names = dict(AddressCategory.objects.filter(pk__in=category_ids).values_list("pk", "name"))
    entries = []
    for v in versions:
        entry = HistoryEntry(
            version=v,
            address_id=v.address_id,
            address_label=_snapshot_line(v.after, region_names) or v.after.get("raw_text", ""),
            created=v.before is None,
        )
        before = v.before or {}
        for name, label in _HISTORY_FIELDS:
            old = _field_text(name, before, region_names, category_names) if v.before is not None else ""
            new = _field_text(name, v.after, region_names, category_names)
            if old != new:
                entry.changes.append(FieldChange(str(label), old, new))
        entries.append(entry)
    return entries


def customer_history_with_trash(*, customer: Customer, limit: int = HISTORY_LIMIT) -> list:
    """`customer_history` with the deletions and restores of the customer and its addresses."""
    entries: list = customer_history(customer=customer, limit=limit)
    items = (
        TrashItem.objects.filter(customer_id=customer.pk)
        .select_related("deleted_by", "restored_by")
        .defer("payload")
    )
    for item in items[:limit]:
        entries.append(TrashEntry(item, restored=False))
        if item.restored_at is not None:
            entries.append(TrashEntry(item, restored=True))
    entries.sort(key=lambda e: e.when, reverse=True)
    return entries[:limit]


def _region_chains(codes: set[str]) -> dict[str, str]:
    """{code: "广东省 深圳市 南山区"} for region codes found in history snapshots."""
    if not codes:
        return {}
    regions = list(Region.objects.filter(code__in=codes).only("code", "path", "name"))
    ancestors = {c for r in regions for c in r.path.split("/") if c}
    names = dict(Region.objects.filter(code__in=ancestors).values_list("code", "name"))
    out = {}
    for r in regions:
        parts = []
        for c in r.path.split("/"):
            name = names.get(c)
            if c and name and (not parts or parts[-1] != name) and c != "CN":
                parts.append(name)
        out[r.code] = " ".join(parts)
    return out


def _snapshot_line(snapshot: dict, region_names: dict[str, str]) -> str:
    parts = [
        region_names.get(snapshot.get("region") or "", snapshot.get("region_name") or ""),
        snapshot.get("detail"),
    ]
    return " ".join(p for p in parts if p)


def _field_text(name: str, snapshot: dict, region_names: dict, category_names: dict) -> str:
    """One snapshot field as a person reads it."""
    if name == "location":
        if snapshot.get("lat") is None:
            return ""
        return f"{snapshot['lat']}, {snapshot['lng']}"
    value = snapshot.get(name)
    if value in (None, "", []):
        return "" if name != "is_primary" else str(_("no"))
    if name == "kind":
        return str(AddressKind(value).label) if value in AddressKind.values else value
    if name == "is_primary":
        return str(_("yes") if value else _("no"))
    if name == "precision":
        return str(GeocodePrecision(value).label) if value in GeocodePrecision.values else value
    if name == "region":
        return region_names.get(value) or snapshot.get("region_name") or value
    if name == "categories":
        return ", ".join(category_names.get(c) or str(_("(deleted category)")) for c in value)
    if name == "geocode_source":
        return str(_GEOCODE_SOURCES.get(value, value))
    if name == "verified_at":
        parsed = parse_datetime(value)
        return _format_datetime(parsed) if parsed else value
    return str(value)


def _format_datetime(value: datetime) -> str:
    from django.utils import formats, timezone

    return formats.date_format(timezone.localtime(value), "SHORT_DATETIME_FORMAT")


def channel_label(channel: str) -> str:
    return str(Channel(channel).label) if channel in Channel.values else channel


# -- categories -----------------------------------------------------------------


def categories_with_counts(*, user):
    """All categories, each with `address_count` over addresses of customers the user may see."""
    visible = Customer.objects.visible_to(user)
    return (
        AddressCategory.objects.select_related("parent")
        .annotate(address_count=Count("addresses", filter=Q(addresses__customer__in=visible), distinct=True))
        .order_by("name")
    )


def category_get(*, pk: int) -> AddressCategory:
    category = AddressCategory.objects.select_related("parent").filter(pk=pk).first()
    if category is None:
        raise Http404
    return category


def category_address_count(*, category: AddressCategory) -> int:
    """How many addresses (of any customer) carry the category: what deleting it unassigns."""
    return category.addresses.count()
