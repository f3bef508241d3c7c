"""Reads of the quality app. Every customer read starts from Customer.objects.visible_to(user)."""

from dataclasses import dataclass

from django.db.models import Prefetch
from django.http import Http404

from addresses.models import Address
from customers.models import Customer
from quality.choices import PairStatus
from quality.matching import Match, blocking_keys, score_pair
from quality.models import CustomerAlias, CustomerKey, CustomerMerge, DuplicatePair
from quality.policy import duplicate_threshold
from quality.records import record_of_input, records_for

PAGE_SIZE = 25


def duplicate_pairs(*, user, status: str = PairStatus.OPEN, limit: int = PAGE_SIZE, offset: int = 0):
    """Pairs of customers the user may both see, best score first."""
    visible = Customer.objects.visible_to(user)
    return (
        DuplicatePair.objects.filter(status=status, customer_a__in=visible, customer_b__in=visible)
        .select_related("customer_a__owner", "customer_b__owner")
        .order_by("-score", "id")[offset : offset + limit]
    )


def duplicate_pair_count(*, user, status: str = PairStatus.OPEN) -> int:
    visible = Customer.objects.visible_to(user)
    return DuplicatePair.objects.filter(status=status, customer_a__in=visible, customer_b__in=visible).count()


def duplicate_pair_get(*, user, pk: int) -> DuplicatePair:
    """One pair whose customers the user may both see; 404 otherwise."""
    visible = Customer.objects.visible_to(user)
    addresses = Prefetch(
        "addresses", queryset=Address.objects.select_related("province", "city", "district", "country")
    )
    pair = (
        DuplicatePair.objects.filter(pk=pk, customer_a__in=visible, customer_b__in=visible)
        .select_related("customer_a__owner", "customer_b__owner")
        .first()
    )
    if pair is None:
        raise Http404
    pair.sides = list(
        Customer.objects.filter(pk__in=[pair.customer_a_id, pair.customer_b_id])
        .select_related("owner")
        .prefetch_related(addresses)
        .order_by("pk")
    )
    return pair


def merges_recent(*, user, limit: int = 10):
    """The latest merges of survivors the user may see (undone ones included)."""
    visible = Customer.objects.visible_to(user)
    return (
        CustomerMerge.objects.filter(survivor__in=visible)
        .select_related("survivor", "actor", "undone_by")
        .order_by("-created_at", "-id")[:limit]
    )


def merge_get(*, user, pk: int) -> CustomerMerge:
    merge = CustomerMerge.objects.filter(pk=pk, survivor__in=Customer.objects.visible_to(user)).first()
    if merge is None:
        raise Http404
    return merge


def customer_by_external_id(*, user, external_id: str) -> Customer | None:
    """The customer with this external id, or the survivor a merged customer's id now names."""
    visible = Customer.objects.visible_to(user)
    found = visible.filter(external_id=external_id).first()
    if found is None:
        alias = CustomerAlias.objects.filter(external_id=external_id, customer__in=visible).first()
        found = alias.customer if alias else None
    return found


@dataclass(frozen=True)
class LookAlike:
    customer: Customer
    match: Match


def look_alikes(
    *,
    user,
    name: str,
    phone: str = "",
    email: str = "",
    addresses=(),
    exclude_id: int | None = None,
    limit: int = 5,
) -> list[LookAlike]:
    """Visible customers that look like these values (the save-time check of forms and the
    API): candidates by blocking key (indexed), scored like the scan."""
    record = record_of_input(name=name, phone=phone, email=email, addresses=addresses)
    keys = blocking_keys(record)
    if not keys:
        return []
    by_kind: dict[str, list[str]] = {}
    for kind, key in keys:
        by_kind.setdefault(kind, []).append(key)
    ids: set[int] = set()
    for kind, values in by_kind.items():
        ids.update(
            CustomerKey.objects.filter(kind=kind, key__in=values).values_list("customer_id", flat=True)[:200]
        )
    ids.discard(exclude_id)
    if not ids:
        return []
    scored = []
    for other in records_for(sorted(ids)):
        match = score_pair(record, other)
        if match.score >= duplicate_threshold():
            scored.append((match, other.id))
    if not scored:
        return []
    customers = Customer.objects.visible_to(user).in_bulk([pk for _m, pk in scored])
    found = [LookAlike(customers[pk], m) for m, pk in scored if pk in customers]
    found.sort(key=lambda x: -x.match.score)
    return found[:limit]
