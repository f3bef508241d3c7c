"""Reads of the quality app. Every customer read starts from Customer.objects.visible_to(user)."""

from dataclasses import dataclass

from django.db.models import F, Prefetch, Q
from django.http import Http404

from addresses.models import Address
from customers.models import Customer
from quality.choices import PairStatus
from quality.matching import Match, blocking_keys, score_pair
from quality.models import CustomerAlias, CustomerKey, CustomerMerge, DuplicatePair, QualitySnapshot
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
    # One query: each (kind, key) is an index probe on quality_customerkey_block.
    match = Q()
    for kind, key in keys:
        match |= Q(kind=kind, key=key)
    ids = set(CustomerKey.objects.filter(match).values_list("customer_id", flat=True)[:200])
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


@dataclass
class Dashboard:
    day: object
    overall: dict
    provinces: list  # (region, figures), most addresses first
    owners: list  # (user or None, figures)
    trend: list  # (day, figures) of "all", oldest first


def quality_dashboard(*, days: int = 60) -> Dashboard | None:
    """The latest snapshot (everything, per province, per owner) and the trend of the last
    `days` snapshots: a few indexed rows, whatever the number of customers."""
    from django.contrib.auth import get_user_model

    from geo.models import Region

    latest = QualitySnapshot.objects.order_by("-day").values_list("day", flat=True).first()
    if latest is None:
        return None
    rows = list(QualitySnapshot.objects.filter(day=latest))
    regions = Region.objects.in_bulk([r.scope_id for r in rows if r.scope == "province" and r.scope_id])
    users = get_user_model().objects.in_bulk([r.scope_id for r in rows if r.scope == "owner" and r.scope_id])
    overall = next((r.figures for r in rows if r.scope == "all"), {})
    provinces = sorted(
        ((regions.get(r.scope_id), r.figures) for r in rows if r.scope == "province"),
        key=lambda x: -x[1].get("addresses", 0),
    )
    owners = sorted(
        ((users.get(r.scope_id), r.figures) for r in rows if r.scope == "owner"),
        key=lambda x: -x[1].get("customers", x[1].get("addresses", 0)),
    )
    trend = list(
        QualitySnapshot.objects.filter(scope="all", scope_id=0)
        .order_by("-day")
        .values_list("day", "figures")[:days]
    )
    return Dashboard(latest, overall, provinces, owners, trend[::-1])


VERIFY_PAGE = 50


def addresses_to_verify(
    *, user, status: str = "overdue", region_code: str = "", owner_id: int | None = None, mine: bool = False,
    offset: int = 0, limit: int = VERIFY_PAGE,
):  # fmt: skip
    """Addresses of visible customers with this verification status (schedule.STATUSES, or
    "todo": never verified or overdue), oldest verification first."""
    from geo.models import Region
    from quality.schedule import STATUSES, status_q

    qs = Address.objects.filter(customer__in=Customer.objects.visible_to(user))
    if status == "todo":
        qs = qs.filter(status_q("unverified") | status_q("overdue"))
    elif status in STATUSES:
        qs = qs.filter(status_q(status))
    if region_code:
        region = Region.objects.filter(code=region_code).only("pk", "level").first()
        qs = qs.filter(**{f"{region.level}_id": region.pk}) if region and region.level in (
            "country", "province", "city", "district"
        ) else qs.none()  # fmt: skip
    if mine:
        qs = qs.filter(customer_owner=user)
    elif owner_id:
        qs = qs.filter(customer_owner_id=owner_id)
    return (
        qs.select_related("customer", "province", "city", "district", "country")
        .prefetch_related("categories")
        .order_by(F("verified_at").asc(nulls_first=True), "pk")[offset : offset + limit]
    )


def address_to_verify_get(*, user, pk: int) -> Address:
    """One address of a visible customer; 404 otherwise."""
    address = Address.objects.filter(pk=pk, customer__in=Customer.objects.visible_to(user)).first()
    if address is None:
        raise Http404
    return address


def self_service_pending(*, user, limit: int = 50):
    """Customers' answers waiting for review, of customers the user may see."""
    from quality.choices import SubmissionStatus
    from quality.models import SelfServiceSubmission

    return (
        SelfServiceSubmission.objects.filter(
            status=SubmissionStatus.PENDING, customer__in=Customer.objects.visible_to(user)
        )
        .select_related("customer", "address")
        .order_by("created_at", "pk")[:limit]
    )


def self_service_submission_get(*, user, pk: int):
    from quality.models import SelfServiceSubmission

    found = SelfServiceSubmission.objects.filter(
        pk=pk, customer__in=Customer.objects.visible_to(user)
    ).first()
    if found is None:
        raise Http404
    return found


def self_service_links_recent(*, user, limit: int = 30):
    from quality.models import SelfServiceLink

    return (
        SelfServiceLink.objects.filter(customer__in=Customer.objects.visible_to(user))
        .select_related("customer", "created_by")
        .order_by("-created_at", "-pk")[:limit]
    )


def self_service_link_owned(*, user, pk: int):
    from quality.models import SelfServiceLink

    found = SelfServiceLink.objects.filter(pk=pk, customer__in=Customer.objects.visible_to(user)).first()
    if found is None:
        raise Http404
    return found


def points_ledger(*, user, q: str = "", customer_id: int | None = None):
    """Points entries of visible customers, newest first, optionally for one customer or a name."""
    from quality.models import PointsEntry

    entries = PointsEntry.objects.filter(customer__in=Customer.objects.visible_to(user))
    if customer_id:
        entries = entries.filter(customer_id=customer_id)
    if q:
        entries = entries.filter(customer__name__icontains=q.strip())
    return entries.select_related(
        "customer", "address__country", "address__province", "address__city", "address__district"
    ).order_by("-created_at", "-pk")


def points_totals(*, user, q: str = "", limit: int = 20):
    """Customers with the most points (name, id, total)."""
    from django.db.models import Sum

    return list(
        points_ledger(user=user, q=q)
        .order_by()
        .values("customer_id", "customer__name")
        .annotate(total=Sum("points"))
        .order_by("-total", "customer_id")[:limit]
    )
