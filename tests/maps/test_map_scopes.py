"""Map cells per filter scope (stage, kind, owner, customer region): kept by the write path
equal to a rebuild, and summed into the same clusters as the customer semi-join."""

import pytest
from django.http import QueryDict

from addresses.models import Address, AddressCategory
from addresses.services import address_create, address_update, addresses_categorize
from customers.filtersets import CustomerFilterSet
from customers.models import Customer
from customers.services import customer_update, customers_reassign_owner
from geo import mapmath
from maps import cells, scoping
from maps import selectors as map_selectors
from maps.models import MapCell

pytestmark = pytest.mark.django_db
CHINA = mapmath.BBox(15.0, 70.0, 55.0, 140.0)
SPOTS = [(39.91, 116.40, "110101"), (22.53, 113.93, "440305"), (31.23, 121.47, "310101")]


def _cells():
    return {
        (m.scope, m.level, m.x, m.y): (m.count, round(m.lat_sum, 6), round(m.lng_sum, 6))
        for m in MapCell.objects.exclude(count=0)
    }


@pytest.fixture
def shop():
    return AddressCategory.objects.create(name="门店", colour="#22c55e")


@pytest.fixture
def spread(make_customer, sales, other_sales, shop):
    """Customers of three owners over Beijing, Shenzhen and Shanghai; some with a second
    address in Guangdong, one with an address that has no point; some in a category."""
    customers = []
    for i in range(18):
        owner = (sales, other_sales, None)[i % 3]
        c = make_customer(f"丁{i}", owner=owner, stage=("potential", "existing")[i % 2], kind="individual")
        lat, lng, code = SPOTS[(i // 3) % 3]
        address_create(customer=c, district_code=code, lat=lat + i * 0.01, lng=lng)
        if i % 4 == 0:
            # The second address carries the category: the customer's first one counts in it too.
            cats = [shop.pk] if i % 8 == 0 else []
            address_create(
                customer=c,
                district_code="440305",
                lat=22.6,
                lng=114.0 + i * 0.01,
                kind="billing",
                category_ids=cats,
            )
        customers.append(c)
    address_create(customer=customers[5], district_code="440305", kind="home")  # no point: region only
    return customers


def test_scoped_cells_stay_equal_to_a_rebuild_through_writes(spread, sales, other_sales, shop):
    a = spread[1].addresses.order_by("pk").first()
    # A move to another province changes the customer's regions, so its other addresses' scopes.
    address_update(address=a, expected_version=a.version, district_code="440305", lat=22.55, lng=113.95)
    customer_update(customer=spread[2], stage="churned", kind="enterprise")
    customers_reassign_owner(customer_ids=[spread[3].pk, spread[4].pk], owner=other_sales)
    addresses_categorize(address_ids=list(spread[6].addresses.values_list("pk", flat=True)), add=[shop.pk])
    addresses_categorize(address_ids=list(spread[0].addresses.values_list("pk", flat=True)), remove=[shop.pk])
    kept = _cells()
    assert any(scope.startswith("c:") for scope, *_rest in kept)
    assert any(scope.startswith("r:") for scope, *_rest in kept)
    tags = dict(Address.objects.values_list("pk", "customer_scopes"))
    assert any(f" c{shop.pk} " in t for t in tags.values())
    cells.map_cells_rebuild()
    assert _cells() == kept
    assert dict(Address.objects.values_list("pk", "customer_scopes")) == tags


def test_customer_scopes_name_every_region_and_category_of_the_customer(make_customer, shop):
    from geo.models import Region

    c = make_customer("戊")
    first = address_create(customer=c, district_code="110101", lat=39.91, lng=116.40)
    ids = dict(
        Region.objects.filter(code__in=["CN", "110000", "110100", "110101", "440000"]).values_list(
            "code", "pk"
        )
    )
    beijing = {f"r{ids[code]}" for code in ("CN", "110000", "110100", "110101")}
    assert set(Address.objects.get(pk=first.pk).customer_scopes.split()) == beijing
    second = address_create(customer=c, district_code="440305", kind="billing", category_ids=[shop.pk])
    # The first address learns of the second's province and category, and loses them with it.
    assert f" r{ids['440000']} " in Address.objects.get(pk=first.pk).customer_scopes
    assert f" c{shop.pk} " in Address.objects.get(pk=first.pk).customer_scopes
    second.refresh_from_db()
    address_update(address=second, expected_version=second.version, district_code="110105")
    assert set(Address.objects.get(pk=first.pk).customer_scopes.split()) == beijing | {
        f"r{pk}" for pk in Region.objects.filter(code="110105").values_list("pk", flat=True)
    } | {f"c{shop.pk}"}


def _semi_join_grid(customers, level):
    ranges = map_selectors._ranges_q(mapmath.bbox_key_ranges(CHINA))
    addresses = map_selectors._filtered_addresses(customers).filter(ranges)
    return sorted((c[0], c[1]) for c in map_selectors._grid_from_addresses(addresses, level))


def _terms_grid(user, query, level):
    fs = CustomerFilterSet(QueryDict(query), queryset=Customer.objects.visible_to(user))
    assert fs.is_valid()
    filters = {k: fs.form.cleaned_data[k] for k in QueryDict(query)}
    terms = scoping.map_scope_terms(user=user, filters=filters)
    assert terms is not None
    cells = map_selectors.grid(customers=fs.qs, scope=query, bbox=CHINA, level=level, terms=terms)
    return sorted((c[0], c[1]) for c in cells), fs.qs


@pytest.mark.parametrize("level", [4, 8, 11])
def test_scoped_sums_equal_the_semi_join_for_filters_and_territories(
    spread, manager, sales, other_sales, make_territory, shop, level
):
    make_territory(sales, "440000")
    make_territory(sales, "440300")  # inside Guangdong: adds nobody
    cases = [
        (manager, "stage=existing"),
        (manager, "stage=existing&stage=potential"),
        (manager, "kind=individual"),
        (manager, f"owner={other_sales.pk}"),
        (manager, "region=440000"),
        (manager, "region=110100"),
        (manager, f"category={shop.pk}"),
        (sales, ""),
        (other_sales, ""),
    ]
    for user, query in cases:
        by_terms, customers = _terms_grid(user, query, level)
        assert by_terms == _semi_join_grid(customers, level), (user.username, query)
        assert sum(n for _c, n in by_terms) > 0


def test_sales_user_sees_only_their_scope_from_the_scoped_cells(spread, sales, make_territory):
    make_territory(sales, "440000")
    by_terms, customers = _terms_grid(sales, "", 6)
    # Own customers (every third) plus customers with an address in Guangdong, each address once.
    visible = map_selectors._filtered_addresses(customers).count()
    assert sum(n for _c, n in by_terms) == visible
    assert visible < map_selectors._filtered_addresses(Customer.objects.all()).count()


def test_filters_no_sum_of_scopes_says_fall_back(sales, other_sales, make_territory, manager):
    make_territory(sales, "440000")
    make_territory(sales, "310000")
    assert scoping.map_scope_terms(user=sales, filters={}) is None  # two territories
    assert scoping.map_scope_terms(user=other_sales, filters={"stage": ["new"]}) is None
    assert scoping.map_scope_terms(user=manager, filters={"stage": ["new"], "kind": "individual"}) is None
    assert scoping.map_scope_terms(user=manager, filters={"q": "张"}) is None
    assert scoping.map_scope_terms(user=manager, filters={"region": "110101"}) is None  # a district


@pytest.mark.parametrize("level", [14, 17, 20])
def test_address_conditions_select_the_same_addresses_as_the_semi_join(
    spread, manager, sales, other_sales, make_territory, shop, level
):
    make_territory(sales, "440000")
    make_territory(other_sales, "110000")
    make_territory(other_sales, "310101")  # two territories, one a district
    other = AddressCategory.objects.create(name="仓库2", colour="#111111")
    addresses_categorize(address_ids=list(spread[3].addresses.values_list("pk", flat=True)), add=[other.pk])
    ranges = map_selectors._ranges_q(mapmath.bbox_key_ranges(CHINA))
    for user, query in [
        (manager, "region=440000"),
        (manager, "region=440305"),
        (manager, "region=CN"),
        (manager, "region=nowhere"),
        (manager, f"owner={sales.pk}"),
        (manager, f"category={shop.pk}"),
        (manager, f"category={shop.pk}&category={other.pk}"),
        (manager, f"stage=existing&region=440000&category={shop.pk}"),
        (sales, ""),
        (sales, "region=110000"),
        (other_sales, ""),
        (other_sales, "kind=individual&region=440300"),
    ]:
        fs = CustomerFilterSet(QueryDict(query), queryset=Customer.objects.visible_to(user))
        assert fs.is_valid()
        where = scoping.address_where(
            user=user, filters={k: fs.form.cleaned_data[k] for k in QueryDict(query)}
        )
        assert where is not None, query
        addresses = map_selectors._filtered_addresses(fs.qs, where).filter(ranges)
        by_where = sorted((c[0], c[1]) for c in map_selectors._grid_from_addresses(addresses, level))
        assert by_where == _semi_join_grid(fs.qs, level), (user.username, query)


def test_sales_clusters_endpoint_counts_their_scope_at_every_zoom(client, spread, sales, make_territory):
    make_territory(sales, "440000")
    client.force_login(sales)
    visible = map_selectors._filtered_addresses(Customer.objects.visible_to(sales)).count()
    ids = set(map_selectors._filtered_addresses(Customer.objects.visible_to(sales)).values_list("pk", flat=True))
    for zoom in (4, 9, 13, 15):
        data = client.get("/map/clusters/", {"bbox": "70,15,140,55", "zoom": zoom}).json()
        assert data["total"] == visible, zoom
        assert {p["id"] for p in data["points"]} <= ids
