"""The map's restatement of the access rule (`Customer.objects.visible_to`) and of the
customer filter over the addresses' own copies: as a condition on address columns, or
as a signed sum of scoped `MapCell` rows. tests/maps/test_map_access.py checks that
both give exactly the customers `visible_to(user)` gives, for every role.
"""

from django.contrib.auth import get_user_model
from django.db.models import Q

from crm.roles import is_manager
from customers.models import Territory
from geo.models import Region

MAP_COPY_FILTERS = {"stage", "kind", "owner", "category", "region"}


def _has_scope(tag: str) -> Q:
    """Addresses whose customer has `tag` (see customer_scope_tags): one test on the row itself."""
    return Q(customer_scopes__contains=f" {tag} ")


def address_where(*, user, filters: dict) -> Q | None:
    """The map's customer filter as a condition on the addresses' own columns, or None when
    it needs the customers table (search, dates, precision, selected ids).

    `filters` is the CustomerFilterSet's cleaned data; the user's scope is
    `Customer.objects.visible_to(user)` restated over the copies: customer-level facts (an
    address in a region, an address with a category) are read from `customer_scopes`.
    """
    if not set(filters) <= MAP_COPY_FILTERS:
        return None
    where = Q()
    if filters.get("stage"):
        where &= Q(customer_stage__in=list(filters["stage"]))
    if filters.get("kind"):
        where &= Q(customer_kind=filters["kind"])
    if filters.get("owner") not in (None, ""):
        where &= Q(customer_owner_id=int(filters["owner"]))
    if filters.get("category"):
        any_category = Q(pk__in=[])
        for category in filters["category"]:
            any_category |= _has_scope(f"c{category.pk}")
        where &= any_category
    if filters.get("region"):
        region = (
            Region.objects.filter(code=str(filters["region"]).strip()).values_list("pk", flat=True).first()
        )
        where &= _has_scope(f"r{region}") if region is not None else Q(pk__in=[])
    if not is_manager(user):
        visible = Q(customer_owner_id=user.pk)
        for region_id in Territory.objects.filter(user=user).values_list("region_id", flat=True):
            visible |= _has_scope(f"r{region_id}")
        where &= visible
    return where


def map_scope_terms(*, user, filters: dict) -> list[tuple[str, int]] | None:
    """The map's customer filter as a signed sum of MapCell scopes, or None when no sum of
    scopes says it (several filters at once, search, category, dates, overlapping territories).

    `filters` is the CustomerFilterSet's cleaned data (active filters only); the user's
    scope is `Customer.objects.visible_to(user)` restated: own customers plus customers
    with an address in the territory, less those counted twice.
    """
    active = {k: v for k, v in filters.items() if v not in (None, "", [], ())}
    if is_manager(user):
        if len(active) != 1:
            return None
        ((name, value),) = active.items()
        if name == "stage":
            return [(f"s:{v}", 1) for v in sorted(set(value))]
        if name == "kind":
            return [(f"k:{value}", 1)]
        if name == "owner":
            return [(f"o:{int(value)}", 1)]
        if name == "category":
            # One category: customers with two of several would count twice.
            return [(f"c:{value[0].pk}", 1)] if len(value) == 1 else None
        if name == "region":
            region = Region.objects.filter(code=value.strip()).values_list("pk", "level").first()
            if region is None or region[1] not in ("province", "city"):
                return None
            return [(f"r:{region[0]}:{o}", 1) for o in _owner_values()]
        return None
    if active:
        return None
    territories = Territory.objects.filter(user=user).values_list(
        "region_id", "region__path", "region__level"
    )
    paths = {r: (p, level) for r, p, level in territories}
    # A region inside another territory adds nobody (its customers are in the outer one).
    outer = [
        r for r, (p, _l) in paths.items() if not any(p != q and p.startswith(q) for q, _ in paths.values())
    ]
    if not outer:
        return [(f"o:{user.pk}", 1)]
    if len(outer) > 1 or paths[outer[0]][1] not in ("province", "city"):
        return None  # a customer in two territories would count twice; no cells per country or district
    # Own customers, plus the territory's customers of every other owner.
    return [(f"o:{user.pk}", 1)] + [(f"r:{outer[0]}:{o}", 1) for o in _owner_values() if o != user.pk]


def _owner_values() -> list[int]:
    """Every value an owner scope can take: each user's id, and 0 for no owner."""
    return [0, *get_user_model().objects.order_by("pk").values_list("pk", flat=True)]
