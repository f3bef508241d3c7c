"""Reads for the customer list and the region browser.

Every selector that returns customers or counts them takes `user` and starts from
`Customer.objects.visible_to(user)`.
"""

import hashlib
from dataclasses import dataclass

from django.core.cache import cache
from django.core.paginator import Page
from django.db import connections
from django.db.models import F, Prefetch, Q
from django.db.models.functions import Coalesce
from django.http import Http404

from addresses.freshness import addresses_data_version
from addresses.models import Address, AddressCategory
from crm.db.pagination import FilteredCountPaginator
from crm.roles import is_manager
from customers.filtersets import CustomerFilterSet
from customers.models import Customer, Territory, TrashItem
from geo.choices import RegionLevel
from geo.models import Region

PAGE_SIZES = (25, 50, 100, 200)
DEEP_OFFSET = 2_000  # rows skipped before a page counts as deep
DEEP_SEEK_REACH = 10  # pages back a deep page looks for a remembered boundary
DEEP_BOUNDARY_TTL = 300  # seconds a deep page's first row is remembered
LEVELS = (RegionLevel.COUNTRY, RegionLevel.PROVINCE, RegionLevel.CITY, RegionLevel.DISTRICT)
CHILD_LEVEL = dict(zip(LEVELS, LEVELS[1:]))


@dataclass
class CustomerListResult:
    filterset: CustomerFilterSet
    paginator: FilteredCountPaginator
    page: Page


def customer_get(*, user, pk: int) -> Customer:
    """The customer `pk` if the user may see it, else Http404."""
    customer = Customer.objects.visible_to(user).select_related("owner").filter(pk=pk).first()
    if customer is None:
        raise Http404
    return customer


def customer_list(*, user, params, per_page: int = 50, page_number=1) -> CustomerListResult:
    """One page of the customers `user` may see that match `params` (CustomerFilterSet).

    The page is fetched by primary key from a narrow, index-only id query ("deferred
    join"), so deep pages stay cheap; addresses, their regions and categories are
    prefetched, so the number of queries does not depend on the page size.
    """
    filterset = CustomerFilterSet(params, queryset=Customer.objects.visible_to(user))
    qs = filterset.qs if filterset.is_valid() else filterset.queryset.none()
    ordering = qs.query.order_by or ("name", "pk")
    by_region = _region_name_index(filterset, user, ordering)
    # A region's customers are better estimated from its addresses than through a salesperson's
    # visibility test (a planner guess of its own).
    paginator = FilteredCountPaginator(qs.values_list("pk", flat=True), per_page, planned=by_region)
    page = paginator.get_page(page_number)
    if paginator.matching_ids:
        # A small result, already known by id: sort just those rows.
        ids = (
            Customer.objects.filter(pk__in=paginator.matching_ids)
            .order_by(*ordering)
            .values_list("pk", flat=True)
        )
        page.object_list = ids[page.start_index() - 1 : page.end_index()]
    deep_key = None
    if by_region is not None and paginator.count:
        page.object_list = [pk for _name, pk in by_region[page.start_index() - 1 : page.end_index()]]
    elif paginator.estimated and page.start_index() > DEEP_OFFSET and not paginator.matching_ids:
        deep_key = _deep_page_key(user=user, params=params, per_page=paginator.per_page)
        seek = _seek_from_cached_boundary(qs, ordering, deep_key, page.number, paginator.per_page)
        if seek is not None:
            page.object_list = seek
        elif params.get("region"):
            deep = CustomerFilterSet(params, queryset=Customer.objects.visible_to(user), deep_page=True)
            page.object_list = deep.qs.values_list("pk", flat=True)[page.start_index() - 1 : page.end_index()]
    regions = ("country", "province", "city", "district")
    addresses = (
        Address.objects.select_related(*regions)
        .only(
            "customer_id",
            "kind",
            "is_primary",
            "raw_text",
            "detail",
            "precision",
            *(f"{r}__{f}" for r in regions for f in ("code", "name")),
        )
        # The model's ordering starts with the customer, which would join customers
        # to sort by name; within a customer this is the same order.
        .order_by("-is_primary", "kind", "pk")
        .prefetch_related(Prefetch("categories", queryset=AddressCategory.objects.only("name", "colour")))
    )
    if paginator.count:
        page.object_list = list(
            filterset.queryset.filter(pk__in=page.object_list)  # visible_to(user), as every read
            .order_by(*ordering)
            .select_related("owner")
            .only(
                "name",
                "kind",
                "stage",
                "phone",
                "external_id",
                "created_at",
                "updated_at",
                "owner__username",
                "owner__first_name",
                "owner__last_name",
            )
            .prefetch_related(Prefetch("addresses", queryset=addresses, to_attr="address_list"))
        )
    else:
        page.object_list = []
    if deep_key is not None and page.object_list:
        first = page.object_list[0]
        field = ordering[0].lstrip("-")
        cache.set(f"{deep_key}:{page.number}", (getattr(first, field), first.pk), DEEP_BOUNDARY_TTL)
    return CustomerListResult(filterset=filterset, paginator=paginator, page=page)


def _region_name_index(filterset, user, ordering):
    """The customers of one province or city in name order, off the addresses'
    (region, customer name, customer) index, when that is the whole filter: a list
    filtered by region alone, sorted by name, for a user who sees every customer
    there (a manager, or a salesperson inside their territory).

    (customer name, customer id) rows, one per customer, in the list's order; None
    when the list has other conditions. Any page, first or 2,000th, is a short walk
    of one index instead of a test of each customer in the name index.
    """
    if ordering[0].lstrip("-") != "name" or not filterset.is_valid():
        return None
    region = getattr(filterset, "region", None)
    if filterset.active_filters() - {"sort"} != {"region"} or region is None:
        return None
    if region.level not in (RegionLevel.PROVINCE, RegionLevel.CITY):
        return None
    visible = filterset.queryset  # Customer.objects.visible_to(user)
    if visible.query.is_empty():
        return None
    if visible.query.where and not _in_territory(user, region):
        return None
    prefix = "-" if ordering[0].startswith("-") else ""
    return (
        Address.objects.filter(**{f"{region.level}_id": region.pk})
        .order_by(f"{prefix}customer_name", f"{prefix}customer_id")
        .values_list("customer_name", "customer_id")
        .distinct()
    )


def _in_territory(user, region: Region) -> bool:
    """Whether `region` lies inside one of the user's territories: then every customer
    with an address there is visible to the user (Customer.objects.visible_to)."""
    paths = Territory.objects.filter(user=user).values_list("region__path", flat=True)
    return any(region.path.startswith(path) for path in paths)


def _deep_page_key(*, user, params, per_page: int) -> str:
    """Cache key prefix for the page boundaries of one user's filtered, sorted list."""
    query = params.copy()
    query.pop("page", None)
    digest = hashlib.sha1(f"{user.pk}|{per_page}|{query.urlencode()}".encode()).hexdigest()
    return f"dz:list-seek:{digest}"


def _seek_from_cached_boundary(qs, ordering, key: str, number: int, per_page: int):
    """The page's ids by a keyset seek from the nearest remembered page at or before it.

    Each deep page remembers its first row's sort key for a few minutes, so paging on
    (next, back, reload) walks the index from there instead of skipping thousands of
    rows; None when no page close enough is remembered.
    """
    keys = [f"{key}:{n}" for n in range(number, max(number - DEEP_SEEK_REACH, 0), -1)]
    found = cache.get_many(keys)
    for n in range(number, max(number - DEEP_SEEK_REACH, 0), -1):
        if f"{key}:{n}" in found:
            value, pk = found[f"{key}:{n}"]
            break
    else:
        return None
    field = ordering[0].lstrip("-")
    if ordering[0].startswith("-"):
        # The first condition alone bounds the index scan; the second breaks ties by id.
        after = Q(**{f"{field}__lte": value}) & (Q(**{f"{field}__lt": value}) | Q(pk__lte=pk))
    else:
        after = Q(**{f"{field}__gte": value}) & (Q(**{f"{field}__gt": value}) | Q(pk__gte=pk))
    skip = (number - n) * per_page
    return qs.filter(after).values_list("pk", flat=True)[skip : skip + per_page]


REGION_COUNTS_TTL = 300  # seconds the region browser's counts are reused


def _region_addresses(user, region: Region | None) -> tuple[str, object]:
    """(cache scope, addresses in `region` of the customers `user` sees). Managers see
    every customer, so their counts read the addresses alone and are shared by all."""
    addresses = Address.objects.order_by()
    if region is not None:
        addresses = addresses.filter(**{f"{region.level}_id": region.pk})
    visible = Customer.objects.visible_to(user)
    if not visible.query.where and not visible.query.is_empty():
        return "all", addresses
    return f"user{user.pk}", addresses.filter(customer__in=visible.order_by().values("pk"))


def _region_cache_key(what: str, scope: str, region: Region | None) -> str:
    # The map's data version moves with every address write that changes a region
    # or a customer's copy (addresses.freshness), so counts never outlive a change.
    version = addresses_data_version()
    return f"dz:region-{what}:{version}:{scope}:{region.code if region is not None else ''}"


def region_customer_counts(*, user, region: Region | None) -> list[tuple[Region, int]]:
    """Visible customers per child of `region` (per country when None), largest first.

    A customer with addresses in two children counts in both; within one child it
    counts once. Counts are kept for a few minutes per scope (all customers, or one
    sales user's) until the next address write, so drilling around the tree does not
    recount a million rows.
    """
    scope, addresses = _region_addresses(user, region)
    key = _region_cache_key("counts", scope, region)
    counts = cache.get(key)
    if counts is None:
        level = CHILD_LEVEL[region.level] if region is not None else RegionLevel.COUNTRY
        child = F(f"{level}_id")
        if level == RegionLevel.CITY:
            # Some districts hang directly under their province (仙桃): no city column.
            child = Coalesce(f"{level}_id", "district_id")
        # Distinct (child, customer) pairs come off the (region, customer) index in order.
        pairs = addresses.annotate(child=child).filter(child__isnull=False).values("child", "customer_id")
        sql, params = pairs.distinct().query.sql_with_params()
        with connections[pairs.db].cursor() as cursor:  # the replica on the region browser
            # `sql` is the ORM-compiled subquery; every value travels in `params`.
            cursor.execute(f"SELECT child, COUNT(*) FROM ({sql}) pairs GROUP BY child", params)  # noqa: S608
            counts = dict(cursor.fetchall())
        cache.set(key, counts, REGION_COUNTS_TTL)
    regions = Region.objects.in_bulk(list(counts))
    rows = [(regions[pk], n) for pk, n in counts.items() if pk in regions]
    return sorted(rows, key=lambda row: (-row[1], row[0].code))


def region_visible_total(*, user, region: Region | None) -> int:
    """Visible customers with an address in `region` (with any address when None)."""
    scope, addresses = _region_addresses(user, region)
    key = _region_cache_key("total", scope, region)
    total = cache.get(key)
    if total is None:
        total = addresses.values("customer_id").distinct().count()
        cache.set(key, total, REGION_COUNTS_TTL)
    return total


def trash_items(*, user):
    """Deleted customers and addresses that can still be restored, newest first (managers only:
    deleted rows are outside every visibility rule)."""
    if not is_manager(user):
        return TrashItem.objects.none()
    return TrashItem.objects.restorable().select_related("deleted_by").defer("payload")


def trash_get(*, user, pk: int) -> TrashItem:
    """A restorable trash item, else Http404."""
    item = trash_items(user=user).filter(pk=pk).first()
    if item is None:
        raise Http404
    return item
