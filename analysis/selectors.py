"""Reads of the analysis app. Every selector takes `user` and starts from
`Customer.objects.visible_to(user)`: contacts, activities, orders and scores of a customer the
user cannot see are never returned (a customer's own page answers 404 through customer_get)."""

import datetime
import hashlib
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.cache import cache
from django.db import connections
from django.db.models import Count, F, Max, Sum
from django.db.models.functions import Coalesce, TruncMonth
from django.shortcuts import get_object_or_404
from django.utils import timezone

from addresses.models import Address
from analysis.choices import OrderStatus, Segment
from analysis.freshness import analysis_data_version
from analysis.models import Activity, Contact, CustomerScore, Order
from customers.filtersets import CustomerFilterSet
from customers.models import Customer
from customers.selectors import CHILD_LEVEL, customer_get
from geo.choices import RegionLevel
from geo.models import Region

TIMELINE_LIMIT = 50
ORDERS_SHOWN = 20


@dataclass
class OrderTotals:
    count: int = 0
    revenue: Decimal = Decimal(0)
    last_order_on: datetime.date | None = None


@dataclass
class Customer360:
    """What the customer page shows below the addresses: people, timeline, orders, scores."""

    customer: Customer
    contacts: list[Contact]
    activities: list[Activity]
    orders: list[Order]
    totals: OrderTotals
    score: CustomerScore | None


def customer_360(*, user, pk: int) -> Customer360:
    """A visible customer's contacts, latest activities and orders, order totals and score (404 else)."""
    customer = customer_get(user=user, pk=pk)
    orders = Order.objects.filter(customer=customer)
    totals = orders.exclude(status=OrderStatus.CANCELLED).aggregate(
        count=Count("pk"), revenue=Coalesce(Sum("amount_base"), Decimal(0)), last_order_on=Max("ordered_on")
    )
    return Customer360(
        customer=customer,
        contacts=list(Contact.objects.filter(customer=customer).order_by("-is_primary", "name", "id")),
        activities=list(
            Activity.objects.filter(customer=customer)
            .select_related("author", "assignee", "contact")
            .order_by("-occurred_at", "-id")[:TIMELINE_LIMIT]
        ),
        orders=list(
            orders.select_related("delivery_address__district", "delivery_address__city").order_by(
                "-ordered_on", "-id"
            )[:ORDERS_SHOWN]
        ),
        totals=OrderTotals(**totals),
        score=CustomerScore.objects.filter(customer=customer).first(),
    )


def visible_contact(*, user, pk: int) -> Contact:
    """A contact of a customer the user may see (404 else)."""
    return get_object_or_404(
        Contact.objects.select_related("customer"), pk=pk, customer__in=Customer.objects.visible_to(user)
    )


def visible_activity(*, user, pk: int) -> Activity:
    """An activity of a customer the user may see (404 else)."""
    return get_object_or_404(
        Activity.objects.select_related("customer"), pk=pk, customer__in=Customer.objects.visible_to(user)
    )


def address_customer_id(*, address_id: int) -> int | None:
    """The customer an address belongs to (the caller checks the customer is visible)."""
    return Address.objects.filter(pk=address_id).values_list("customer_id", flat=True).first()


def follow_ups(*, user, include_done: bool = False) -> list[Activity]:
    """The user's follow-ups on customers they can see, due first (open ones only by default)."""
    qs = Activity.objects.filter(
        assignee=user, follow_up_on__isnull=False, customer__in=Customer.objects.visible_to(user).values("pk")
    )
    if not include_done:
        qs = qs.filter(done_at__isnull=True)
    return list(qs.select_related("customer", "contact").order_by("follow_up_on", "id")[:500])


# --- analysis pages ------------------------------------------------------------------------------


def filtered_customers(*, user, params):
    """The customers of the list's filters (CustomerFilterSet) the user may see, without its own
    region filter (the analysis pages drill by region themselves)."""
    params = params.copy()
    params.pop("region", None)
    filterset = CustomerFilterSet(params, queryset=Customer.objects.visible_to(user))
    qs = filterset.qs if filterset.is_valid() else filterset.queryset.none()
    return qs.order_by()


def _child_level(region: Region | None) -> str:
    return CHILD_LEVEL[region.level] if region is not None else RegionLevel.PROVINCE


@dataclass
class RegionFigures:
    """Revenue, orders and customers of one region (the child of the region drilled into)."""

    region: Region
    revenue: Decimal = Decimal(0)
    orders: int = 0
    customers: int = 0
    won: int = 0
    at_risk: int = 0
    lost: int = 0
    at_risk_revenue: Decimal = Decimal(0)


@dataclass
class RegionBreakdown:
    region: Region | None
    level: str
    rows: list[RegionFigures] = field(default_factory=list)
    total_revenue: Decimal = Decimal(0)
    total_orders: int = 0
    unplaced_revenue: Decimal = Decimal(0)


def _region_scope(qs, prefix: str, region: Region | None):
    if region is None:
        # China first: the top view is China's provinces (other countries drill in from their row).
        china = Region.objects.filter(code="CN").values_list("pk", flat=True).first()
        return qs.filter(**{f"{prefix}country_id": china})
    return qs.filter(**{f"{prefix}{region.level}_id": region.pk})


REVENUE_TTL = 600  # seconds a region's revenue figures are reused (until orders or addresses change)


def _revenue_cache_key(user, params, region: Region | None) -> str:
    visible = Customer.objects.visible_to(user)
    scope = "all" if not visible.query.where and not visible.query.is_empty() else f"user{user.pk}"
    query = sorted((k, sorted(params.getlist(k))) for k in params if k not in ("page",))
    digest = hashlib.sha1(repr(query).encode()).hexdigest()[:16]
    code = region.code if region is not None else ""
    return f"dz:analysis-revenue:{analysis_data_version()}:{scope}:{code}:{digest}"


def region_revenue(*, user, params, region: Region | None) -> RegionBreakdown:
    """Revenue and orders (cancelled left out) per child of `region`, by each order's delivery
    address, over the visible customers that match the list's filters in `params`.

    Kept for a few minutes per scope (all customers, or one salesperson's), region and
    filters, until the next order or address write: drilling around the regions does not
    rescan millions of orders.
    """
    key = _revenue_cache_key(user, params, region)
    breakdown = cache.get(key)
    if breakdown is None:
        breakdown = _region_revenue(user=user, params=params, region=region)
        cache.set(key, breakdown, REVENUE_TTL)
    return breakdown


def _region_revenue(*, user, params, region: Region | None) -> RegionBreakdown:
    level = _child_level(region)
    customers = filtered_customers(user=user, params=params)
    orders = Order.objects.exclude(status=OrderStatus.CANCELLED)
    if customers.query.where or customers.query.is_empty():  # all customers need no semi-join
        orders = orders.filter(customer__in=customers.values("pk"))
    orders = _since(orders, params)
    scoped = _region_scope(orders, "delivery_address__", region)
    child = f"delivery_address__{level}_id"
    if level == RegionLevel.CITY:  # districts directly under a province (仙桃) stand for their city
        child_expr = Coalesce(f"delivery_address__{level}_id", "delivery_address__district_id")
    else:
        child_expr = F(child)
    rows = (
        scoped.order_by()
        .annotate(child=child_expr)
        .values("child")
        .annotate(
            revenue=Sum("amount_base"), orders=Count("pk"), customers=Count("customer_id", distinct=True)
        )
    )
    breakdown = RegionBreakdown(region=region, level=level)
    by_child = {r["child"]: r for r in rows}
    regions = Region.objects.in_bulk([k for k in by_child if k is not None])
    for key, r in by_child.items():
        if key is None:
            breakdown.unplaced_revenue += r["revenue"] or 0
        elif key in regions:
            breakdown.rows.append(
                RegionFigures(
                    region=regions[key], revenue=r["revenue"], orders=r["orders"], customers=r["customers"]
                )
            )
        breakdown.total_revenue += r["revenue"] or 0
        breakdown.total_orders += r["orders"]
    breakdown.rows.sort(key=lambda f: (-f.revenue, f.region.code))
    return breakdown


def _since(orders, params):
    try:
        days = int(params.get("days", ""))
    except ValueError:
        return orders
    return (
        orders.filter(ordered_on__gte=timezone.localdate() - datetime.timedelta(days=days))
        if days > 0
        else orders
    )


_WON_LOST_SQL = """
SELECT p.child, COUNT(*),
       SUM(CASE WHEN s.first_order_on > %s THEN 1 ELSE 0 END),
       SUM(CASE WHEN s.churn_risk THEN 1 ELSE 0 END),
       SUM(CASE WHEN s.segment = %s THEN 1 ELSE 0 END),
       SUM(CASE WHEN s.churn_risk THEN s.revenue_last_year ELSE 0 END)
FROM ({pairs}) p JOIN analysis_customerscore s ON s.customer_id = p.customer_id
GROUP BY p.child
"""


def region_won_lost(*, user, params, region: Region | None) -> RegionBreakdown:
    """Per child of `region`: customers won (first order in the last 12 months), at risk of
    churning, lost (流失), and the last year's revenue of those at risk. A customer counts in
    each region one of its addresses lies in."""
    level = _child_level(region)
    customers = filtered_customers(user=user, params=params)
    year_ago = timezone.localdate() - datetime.timedelta(days=365)
    addresses = _region_scope(Address.objects.order_by(), "", region)
    if customers.query.where or customers.query.is_empty():  # all customers need no semi-join
        addresses = addresses.filter(customer__in=customers.values("pk"))
    child = Coalesce(f"{level}_id", "district_id") if level == RegionLevel.CITY else F(f"{level}_id")
    pairs = (
        addresses.annotate(child=child).filter(child__isnull=False).values("child", "customer_id").distinct()
    )
    sql, sql_params = pairs.query.sql_with_params()
    with connections[pairs.db].cursor() as cursor:
        # `sql` is the ORM-compiled (region, customer) pairs; every value travels in params.
        params = [year_ago, Segment.LOST, *sql_params]
        cursor.execute(_WON_LOST_SQL.format(pairs=sql), params)  # noqa: S608
        out = {
            child: RegionFigures(
                region=None,
                customers=n,
                won=won,
                at_risk=risk,
                lost=lost,
                at_risk_revenue=Decimal(revenue or 0),
            )
            for child, n, won, risk, lost, revenue in cursor.fetchall()
        }
    found = Region.objects.in_bulk(list(out))
    breakdown = RegionBreakdown(region=region, level=level)
    for key, fig in out.items():
        if key in found:
            fig.region = found[key]
            breakdown.rows.append(fig)
    breakdown.rows.sort(key=lambda f: (-(f.won + f.lost + f.at_risk), f.region.code))
    return breakdown


@dataclass
class SegmentSize:
    segment: str
    label: str
    customers: int
    revenue: Decimal


def segment_sizes(*, user, params) -> list[SegmentSize]:
    """Visible customers (list filters applied) and their revenue per RFM segment, in segment order."""
    customers = filtered_customers(user=user, params=params)
    rows = {
        r["segment"]: r
        for r in CustomerScore.objects.filter(customer__in=customers.values("pk"))
        .order_by()
        .values("segment")
        .annotate(customers=Count("pk"), revenue=Sum("revenue"))
    }
    return [
        SegmentSize(
            segment=value,
            label=label,
            customers=rows.get(value, {}).get("customers", 0),
            revenue=rows.get(value, {}).get("revenue") or Decimal(0),
        )
        for value, label in Segment.choices
    ]


def churn_risk_customers(*, user, params, limit: int = 200) -> list[CustomerScore]:
    """Visible customers flagged at risk of churning, the most revenue at stake first."""
    customers = filtered_customers(user=user, params=params)
    return list(
        CustomerScore.objects.filter(churn_risk=True, customer__in=customers.values("pk"))
        .select_related("customer__owner")
        .order_by("-revenue_last_year", "customer_id")[:limit]
    )


@dataclass
class OwnerRisk:
    owner_name: str
    customers: int
    revenue: Decimal


def churn_risk_by_owner(*, user, params) -> list[OwnerRisk]:
    """At-risk customers and their last year's revenue per owner (nobody's in one row)."""
    customers = filtered_customers(user=user, params=params)
    rows = (
        CustomerScore.objects.filter(churn_risk=True, customer__in=customers.values("pk"))
        .order_by()
        .values("customer__owner__username", "customer__owner__first_name", "customer__owner__last_name")
        .annotate(customers=Count("pk"), revenue=Sum("revenue_last_year"))
    )
    out = []
    for r in rows:
        full = f"{r['customer__owner__first_name']} {r['customer__owner__last_name']}".strip()
        out.append(
            OwnerRisk(
                owner_name=full or r["customer__owner__username"] or "",
                customers=r["customers"],
                revenue=r["revenue"],
            )
        )
    return sorted(out, key=lambda o: -o.revenue)


def at_risk_monthly(*, user, params, months: int = 12) -> list[tuple[datetime.date, Decimal]]:
    """Revenue per month over the last `months` months of the customers now at risk: the trend of
    what is slipping away."""
    customers = filtered_customers(user=user, params=params)
    today = timezone.localdate()
    back = today.year * 12 + today.month - 1 - (months - 1)
    start = datetime.date(back // 12, back % 12 + 1, 1)
    at_risk = CustomerScore.objects.filter(churn_risk=True, customer__in=customers.values("pk")).values(
        "customer_id"
    )
    rows = (
        Order.objects.exclude(status=OrderStatus.CANCELLED)
        .filter(customer_id__in=at_risk, ordered_on__gte=start)
        .order_by()
        .annotate(month=TruncMonth("ordered_on"))
        .values("month")
        .annotate(revenue=Sum("amount_base"))
    )
    sums = {(r["month"].year, r["month"].month): r["revenue"] for r in rows}
    out, month = [], start
    while month <= today:
        out.append((month, sums.get((month.year, month.month), Decimal(0))))
        month = (month + datetime.timedelta(days=32)).replace(day=1)
    return out


def has_orders_in(*, user) -> bool:
    """Whether the user sees any order at all (pages say how to get some when not)."""
    return Order.objects.filter(customer__in=Customer.objects.visible_to(user).values("pk")).exists()
