"""Writes to customers and territories. Address writes live in addresses/services.py.

Every change that apps above this one copy or scope by is announced with an event
(customers.signals), sent inside the same transaction: the addresses app keeps its copies
of a customer's name, stage, kind and owner true from every channel (form, admin, bulk
action, import, API), and the map's scoping follows territory changes.
"""

import json
from array import array
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.db.batch_lookup import in_values
from crm.db.bulk_insert import bulk_insert, bulk_insert_values
from crm.db.search_keys import search_keys
from customers.choices import TrashKind
from customers.models import Customer, Territory, TrashItem
from customers.querysets import trash_cutoff
from customers.signals import (
    customers_archiving,
    customers_changed,
    customers_deleting,
    customers_restored,
    territories_changed,
)

CUSTOMER_FIELDS = ("name", "kind", "stage", "owner", "phone", "email", "external_id")


@transaction.atomic
def customer_create(*, actor=None, **fields) -> Customer:
    """Validate and create one customer."""
    customer = Customer(**fields)
    if customer.external_id == "":
        customer.external_id = None
    customer.full_clean()
    customer.save()
    customers_changed.send(
        sender=Customer, customer_ids=[customer.pk], fields=set(CUSTOMER_FIELDS), created=True
    )
    return customer


@transaction.atomic
def customer_update(*, customer: Customer, actor=None, **changes) -> Customer:
    """Validate and apply `changes` to one customer."""
    for name, value in changes.items():
        if name not in CUSTOMER_FIELDS:
            raise TypeError(f"unknown customer field {name!r}")
        setattr(customer, name, value)
    if customer.external_id == "":
        customer.external_id = None
    customer.full_clean()
    customer.save()
    customers_changed.send(sender=Customer, customer_ids=[customer.pk], fields=set(changes), created=False)
    return customer


@transaction.atomic
def customers_bulk_create(*, customers: Sequence[Customer], actor=None) -> list[Customer]:
    """Insert many already-validated customers (COPY on PostgreSQL, see crm.db.bulk_insert)."""
    created = bulk_insert(Customer, list(customers))
    customers_changed.send(
        sender=Customer, customer_ids=[c.pk for c in created], fields=set(CUSTOMER_FIELDS), created=True
    )
    return created


@transaction.atomic
def customers_reassign_owner(*, customer_ids: Sequence[int], owner, actor=None) -> int:
    """Give many customers a new owner (a manager's action); returns how many changed."""
    changing = Customer.objects.filter(pk__in=list(customer_ids)).exclude(owner=owner)
    ids = list(changing.values_list("pk", flat=True))
    changed = Customer.objects.filter(pk__in=ids).update(owner=owner, updated_at=timezone.now())
    if changed:
        customers_changed.send(sender=Customer, customer_ids=ids, fields={"owner"}, created=False)
    return changed


def customer_delete(*, customer: Customer, actor=None) -> TrashItem:
    """Move one customer, with its addresses and their history, to the trash (restorable for
    settings.TRASH_DAYS days with `customer_restore`)."""
    customers_delete(customer_ids=[customer.pk], actor=actor)
    return TrashItem.objects.filter(kind=TrashKind.CUSTOMER, object_id=customer.pk).latest("deleted_at", "id")


@transaction.atomic
def customers_delete(*, customer_ids: Sequence[int], actor=None) -> int:
    """Move many customers (and their addresses) to the trash, one item each; returns how many.

    Apps above keep copies or rows of a customer: each returns them on `customers_archiving`
    (stored in the item, given back on `customers_restored`) and clears what it derived from
    them on `customers_deleting`.
    """
    customers = list(Customer.objects.filter(pk__in=list(customer_ids)))
    if not customers:
        return 0
    ids = [c.pk for c in customers]
    archive: dict[int, dict] = {}
    for _receiver, response in customers_archiving.send(sender=Customer, customer_ids=ids):
        for key, by_customer in (response or {}).items():
            for customer_id, rows in by_customer.items():
                archive.setdefault(customer_id, {})[key] = rows
    now = timezone.now()
    TrashItem.objects.bulk_create(
        [
            TrashItem(
                kind=TrashKind.CUSTOMER,
                customer_id=c.pk,
                object_id=c.pk,
                label=c.name,
                customer_name=c.name,
                payload={"customer": model_rows(c, exclude=("search_keys",)), **archive.get(c.pk, {})},
                deleted_by=_user(actor),
                deleted_at=now,
            )
            for c in customers
        ]
    )
    customers_deleting.send(sender=Customer, customer_ids=ids, actor=actor)
    Customer.objects.filter(pk__in=ids).delete()
    return len(ids)


@transaction.atomic
def customer_restore(*, item: TrashItem, actor=None) -> Customer:
    """Bring a customer back from the trash with the same id, its addresses and their history."""
    item = trash_item_for_restore(item=item, kind=TrashKind.CUSTOMER)
    rows = item.payload["customer"]
    if Customer.objects.filter(pk=item.object_id).exists():
        raise ValidationError(_("This customer exists already."))
    external_id = rows.get("external_id")
    if external_id and Customer.objects.filter(external_id=external_id).exists():
        raise ValidationError(
            _("Another customer now has the external id “%(id)s”: change it there first.")
            % {"id": external_id}
        )
    customer = Customer(**model_values(Customer, rows))
    created_at = customer.created_at
    customer.save(force_insert=True)
    # auto_now_add stamped the insert: keep the customer's own creation time.
    Customer.objects.filter(pk=customer.pk).update(created_at=created_at)
    customer.created_at = created_at
    customers_changed.send(
        sender=Customer, customer_ids=[customer.pk], fields=set(CUSTOMER_FIELDS), created=True
    )
    archive = {k: v for k, v in item.payload.items() if k != "customer"}
    customers_restored.send(sender=Customer, customer_id=customer.pk, archive=archive, actor=actor)
    trash_item_restored(item=item, actor=actor)
    return customer


def trash_item_for_restore(*, item: TrashItem, kind: str) -> TrashItem:
    """The item, locked, if it can still be restored (else a ValidationError saying why)."""
    item = TrashItem.objects.select_for_update().get(pk=item.pk)
    if item.kind != kind:
        raise ValidationError(_("This is not a deleted %(kind)s.") % {"kind": TrashKind(kind).label})
    if item.restored_at is not None:
        raise ValidationError(_("This was restored already."))
    if item.deleted_at < trash_cutoff():
        raise ValidationError(
            _("Deleted more than %(days)d days ago: it can no longer be restored.")
            % {"days": settings.TRASH_DAYS}
        )
    return item


def trash_item_restored(*, item: TrashItem, actor=None) -> None:
    """Mark a trash item as restored (it stays listed as history)."""
    item.restored_at = timezone.now()
    item.restored_by = _user(actor)
    item.save(update_fields=["restored_at", "restored_by"])


@transaction.atomic
def trash_purge() -> int:
    """Remove trash items past the restore period for good; returns how many."""
    deleted, _by_model = TrashItem.objects.filter(deleted_at__lt=trash_cutoff()).delete()
    return deleted


def model_rows(instance, *, exclude: Sequence[str] = ()) -> dict:
    """A row's column values as JSON-able values (the trash's storage form)."""
    values = {
        f.attname: getattr(instance, f.attname)
        for f in instance._meta.concrete_fields
        if f.attname not in exclude
    }
    return json.loads(json.dumps(values, default=_json_value))


def _json_value(value):
    # Full isoformat (DjangoJSONEncoder cuts microseconds, and the history's hashes cover them).
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, array):  # search keys on PostgreSQL
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def model_values(model, rows: dict) -> dict:
    """`model_rows` read back: each stored value as its field's Python value."""
    fields = {f.attname: f for f in model._meta.concrete_fields}
    return {name: fields[name].to_python(value) for name, value in rows.items() if name in fields}


def _user(actor):
    return actor if actor is not None and getattr(actor, "is_authenticated", False) else None


@transaction.atomic
def territory_assign(*, user, region, actor=None) -> Territory:
    """Give a sales user a region: they see every customer with an address in it."""
    territory, _created = Territory.objects.get_or_create(user=user, region=region)
    territories_changed.send(sender=Territory, user_ids=[user.pk], actor=actor)
    return territory


@transaction.atomic
def territory_update(*, territory: Territory, actor=None, **changes) -> Territory:
    """Move a territory to another user or region."""
    before = territory.user_id
    for name, value in changes.items():
        if name not in ("user", "region"):
            raise TypeError(f"unknown territory field {name!r}")
        setattr(territory, name, value)
    territory.full_clean()
    territory.save()
    territories_changed.send(sender=Territory, user_ids=sorted({before, territory.user_id}), actor=actor)
    return territory


@transaction.atomic
def territory_remove(*, territory: Territory, actor=None) -> None:
    """Take a region back from a sales user."""
    user_id = territory.user_id
    territory.delete()
    territories_changed.send(sender=Territory, user_ids=[user_id], actor=actor)


# Fields an import may set on a customer (owner as owner_id).
UPSERT_FIELDS = ("name", "kind", "stage", "owner_id", "phone", "email")
_INSERT_FIELDS = (*UPSERT_FIELDS, "external_id", "search_keys", "created_at", "updated_at")


@transaction.atomic
def customers_upsert(
    *, rows: Sequence[dict], fields: Sequence[str], actor=None, dry_run: bool = False
) -> list[tuple[int, str]]:
    """Create or update customers matched by `external_id`, comparing and writing only `fields`.

    `rows` are validated dicts with distinct external ids; returns (customer id,
    "created" | "updated" | "unchanged") per row, in order. A `dry_run` compares the same
    way and writes nothing: a customer it would create gets the placeholder id
    -1 - (its row's index), which `addresses_save(dry_run=True)` accepts.
    """
    fields = [f for f in UPSERT_FIELDS if f in fields]
    ext_ids = [r["external_id"] for r in rows]
    existing = {
        row[0]: row[1:]
        for row in Customer.objects.filter(external_id__in=in_values(ext_ids, db_type="text")).values_list(
            "external_id", "pk", *fields
        )
    }
    out: list[tuple[int, str] | None] = [None] * len(rows)
    new, changed = [], []
    now = timezone.now()
    # New customers go in as plain tuples (no instances): every column, defaults filled here.
    defaults = {f: Customer._meta.get_field(f).get_default() for f in _INSERT_FIELDS}
    defaults["created_at"] = defaults["updated_at"] = now
    for i, row in enumerate(rows):
        current = existing.get(row["external_id"])
        if current is None and dry_run:
            out[i] = (-1 - i, "created")
            continue
        if current is None:
            cells = {**defaults, **{f: row[f] for f in fields if f in row}}
            cells["external_id"] = row["external_id"]
            cells["search_keys"] = search_keys(cells["name"])
            new.append((i, tuple(cells[f] for f in _INSERT_FIELDS)))
            continue
        pk, values = current[0], current[1:]
        diff = {f: row[f] for f, old in zip(fields, values) if f in row and row[f] != old}
        if diff:
            if "name" in diff:
                diff["search_keys"] = search_keys(diff["name"])
            customer = Customer(pk=pk, updated_at=now, **diff)
            changed.append((customer, tuple(diff)))
            out[i] = (pk, "updated")
        else:
            out[i] = (pk, "unchanged")
    if dry_run:
        return out
    if new:
        new_ids = bulk_insert_values(Customer, _INSERT_FIELDS, [values for _i, values in new])
        if new_ids and new_ids[0] is None:  # backends that return no ids
            ext_at = _INSERT_FIELDS.index("external_id")
            ids = dict(
                Customer.objects.filter(external_id__in=[v[ext_at] for _i, v in new]).values_list(
                    "external_id", "pk"
                )
            )
            new_ids = [ids[v[ext_at]] for _i, v in new]
        for (i, _v), pk in zip(new, new_ids):
            out[i] = (pk, "created")
        customers_changed.send(sender=Customer, customer_ids=new_ids, fields=set(fields), created=True)
    by_fields: dict[tuple, list[Customer]] = {}
    for customer, names in changed:
        by_fields.setdefault(names, []).append(customer)
    for names, customers in by_fields.items():
        Customer.objects.bulk_update(customers, [*names, "updated_at"], batch_size=2000)
    for names in by_fields:
        customers_changed.send(
            sender=Customer, customer_ids=[c.pk for c in by_fields[names]], fields=set(names), created=False
        )
    return out
