"""Reads for the customer page, the address forms and the category pages.

Every selector takes `user` and starts from `Customer.objects.visible_to(user)`,
so a customer or address the user may not see is simply not found (404).
"""

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, Prefetch, Q
from django.http import Http404
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _

from addresses.choices import AddressKind, Channel
from addresses.models import Address, AddressCategory, AddressVersion
from customers.models import Customer
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
        actor = self.version.actor
        if actor is None:
            return str(_("System"))
        return actor.get_full_name() or actor.get_username()


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
