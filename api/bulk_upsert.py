"""Bulk upsert of customers with their addresses, matched by external id: the import's way of
writing (customers_upsert, then one addresses_save batch, a refused item dropped and the rest
written again, see imports/writing.py) with channel `api` and per-item results.

A customer's address of a kind is updated when it has one (its primary one first), else created
as the primary address of that kind. An external id that belongs to a customer the caller may not
see is refused for that item; a salesperson's new customers are their own and they hand over none.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db import transaction

from addresses.choices import Channel
from addresses.models import Address
from addresses.services import AddressInput, addresses_save
from api.problems import field_errors
from crm.db.batch_lookup import in_values
from crm.roles import is_manager
from customers.models import Customer
from customers.services import customers_upsert

_MAX_ATTEMPTS = 5


@dataclass
class BulkItem:
    """One validated item: the customer's fields (external_id included) and its addresses."""

    customer: dict
    addresses: list[dict] = field(default_factory=list)


@dataclass
class BulkItemResult:
    index: int
    external_id: str
    status: str = ""  # created | updated | unchanged | rejected
    id: int | None = None
    address_ids: list[int] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)


def _existing(ext_ids: list[str], actor) -> tuple[set[str], set[str]]:
    """The external ids already in use, and those of them whose customer `actor` may not see."""
    existing = dict(
        Customer.objects.filter(external_id__in=in_values(ext_ids, db_type="text")).values_list(
            "external_id", "pk"
        )
    )
    if not existing or is_manager(actor):
        return set(existing), set()
    visible = set(
        Customer.objects.visible_to(actor).filter(pk__in=list(existing.values())).values_list("pk", flat=True)
    )
    return set(existing), {ext for ext, pk in existing.items() if pk not in visible}


def _active_users(ids: set[int]) -> set[int]:
    if not ids:
        return set()
    return set(get_user_model().objects.filter(pk__in=ids, is_active=True).values_list("pk", flat=True))


@transaction.atomic
def customers_bulk_upsert(*, items: Sequence[BulkItem], actor) -> list[BulkItemResult]:
    """Create or update each item's customer and addresses; returns a result per item, in order."""
    results = [BulkItemResult(index=i, external_id=it.customer["external_id"]) for i, it in enumerate(items)]
    existing, hidden = _existing([r.external_id for r in results], actor)
    manager = is_manager(actor)
    owners = _active_users({it.customer.get("owner_id") for it in items} - {None}) if manager else set()
    live = []
    for i, it in enumerate(items):
        if it.customer["external_id"] in hidden:
            results[i].status = "rejected"
            results[i].errors = [
                {
                    "pointer": f"#/items/{i}/external_id",
                    "detail": "A customer you may not see has this external id.",
                }
            ]
        elif manager and it.customer.get("owner_id") is not None and it.customer["owner_id"] not in owners:
            results[i].status = "rejected"
            results[i].errors = [
                {"pointer": f"#/items/{i}/owner_id", "detail": "No active user has this id."}
            ]
        else:
            live.append(i)
    for _attempt in range(_MAX_ATTEMPTS):
        rejected = _write(items, live, results, actor=actor, manager=manager, existing=existing)
        if not rejected:
            break
        live = [i for i in live if i not in rejected]
    return results


def _write(
    items, live: list[int], results: list[BulkItemResult], *, actor, manager: bool, existing
) -> set[int]:
    """One try at writing the `live` items; the items the address write path refused, if any
    (then nothing of this try is kept)."""
    sid = transaction.savepoint_create()
    rows, fields = [], {"name"}
    for i in live:
        row = dict(items[i].customer)
        if not manager:
            # A salesperson's new customers are their own; an existing customer's row carries no
            # owner, so customers_upsert leaves it as it is.
            row.pop("owner_id", None)
            if row["external_id"] not in existing:
                row["owner_id"] = actor.pk
        fields.update(f for f in row if f != "external_id")
        rows.append(row)
    upserted = customers_upsert(rows=rows, fields=sorted(fields), actor=actor)
    customer_ids = [pk for pk, _status in upserted]
    current: dict[tuple[int, str], int] = {}
    existing_ids = [pk for pk, status in upserted if status != "created"]
    if existing_ids:
        for pk, customer_id, kind in (
            Address.objects.filter(customer_id__in=in_values(existing_ids))
            .order_by("customer_id", "kind", "-is_primary", "id")
            .values_list("id", "customer_id", "kind")
        ):
            current.setdefault((customer_id, kind), pk)
    inputs, owners = [], []  # owners: (item index, address index) per input
    for i, customer_id in zip(live, customer_ids):
        for j, address in enumerate(items[i].addresses):
            kind = address.get("kind") or "delivery"
            address_id = current.get((customer_id, kind))
            if address_id:
                inputs.append(AddressInput(address_id=address_id, **{**address, "kind": kind}))
            else:
                fields_ = {"is_primary": True, **address, "kind": kind}
                inputs.append(AddressInput(customer_id=customer_id, **fields_))
            owners.append((i, j))
    result = addresses_save(items=inputs, actor=actor, channel=Channel.API)
    if result.errors:
        transaction.savepoint_rollback(sid)
        bad = set()
        for n, errors in result.errors.items():
            i, j = owners[n]
            bad.add(i)
            results[i].status = "rejected"
            results[i].errors.extend(field_errors(errors, ("items", i, "addresses", j)))
        return bad
    transaction.savepoint_commit(sid)
    address_status: dict[int, list[str]] = {}
    for (i, _j), address, status in zip(owners, result.addresses, result.statuses):
        results[i].address_ids.append(address.pk)
        address_status.setdefault(i, []).append(status)
    for i, (pk, status) in zip(live, upserted):
        statuses = [status, *address_status.get(i, ())]
        results[i].id = pk
        results[i].status = (
            "created"
            if statuses[0] == "created"
            else "updated"
            if "created" in statuses or "updated" in statuses
            else "unchanged"
        )
    return set()
