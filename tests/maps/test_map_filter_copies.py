"""The customer's name, stage, kind and owner copied onto addresses, and map filters that read them."""

import pytest

from addresses.models import Address
from addresses.services import address_create
from customers.models import Customer
from customers.services import customer_update, customers_reassign_owner, customers_upsert
from geo import mapmath
from maps import scoping
from maps import selectors as map_selectors

pytestmark = pytest.mark.django_db
BOX = mapmath.BBox(18.0, 73.0, 54.0, 135.0)


def _copies(customer):
    return set(
        Address.objects.filter(customer=customer).values_list(
            "customer_stage", "customer_kind", "customer_owner"
        )
    )


def test_new_addresses_carry_their_customers_stage_kind_and_owner(make_customer, sales):
    c = make_customer("甲", owner=sales, stage="existing", kind="individual")
    address_create(customer=c, district_code="110101", lat=39.91, lng=116.40)
    assert _copies(c) == {("existing", "individual", sales.pk)}


def test_customer_changes_reach_the_addresses_copies(make_customer, sales, other_sales):
    c = make_customer("乙", owner=sales, stage="potential", kind="enterprise", external_id="E-1")
    address_create(customer=c, district_code="110101", lat=39.91, lng=116.40)
    address_create(customer=c, district_code="440305", lat=22.53, lng=113.93, kind="billing")
    customer_update(customer=c, stage="new", kind="individual")
    assert _copies(c) == {("new", "individual", sales.pk)}
    customers_reassign_owner(customer_ids=[c.pk], owner=other_sales)
    assert _copies(c) == {("new", "individual", other_sales.pk)}
    customers_upsert(rows=[{"external_id": "E-1", "stage": "churned"}], fields=["stage"])
    assert _copies(c) == {("churned", "individual", other_sales.pk)}


def test_the_customers_name_is_copied_onto_its_addresses_and_follows_renames(make_customer, sales):
    c = make_customer("旧名字", owner=sales, external_id="E-2")
    address_create(customer=c, district_code="110101")
    address_create(customer=c, district_code="440305", kind="billing")
    names = lambda: set(Address.objects.filter(customer=c).values_list("customer_name", flat=True))  # noqa: E731
    assert names() == {"旧名字"}
    customer_update(customer=c, name="新名字")
    assert names() == {"新名字"}
    customers_upsert(rows=[{"external_id": "E-2", "name": "导入的名字"}], fields=["name"])
    assert names() == {"导入的名字"}


def test_filters_on_copies_give_the_same_cells_as_the_customer_semi_join(
    make_customer, sales, other_sales, make_territory
):
    from django.http import QueryDict

    from customers.filtersets import CustomerFilterSet

    make_territory(sales, "440000")
    spots = [(39.91, 116.40, "110101"), (22.53, 113.93, "440305"), (31.23, 121.47, "310101")]
    for i in range(18):
        owner = (sales, other_sales, None)[i % 3]
        c = make_customer(f"丙{i}", owner=owner, stage=("potential", "existing")[i % 2], kind="individual")
        lat, lng, code = spots[(i // 3) % 3]
        address_create(customer=c, district_code=code, lat=lat + i * 0.01, lng=lng)
        if i % 4 == 0:  # a second address, in Guangdong: the whole customer is in sales1's territory
            address_create(customer=c, district_code="440305", lat=22.6, lng=114.0 + i * 0.01, kind="billing")
    for user in (sales, other_sales):
        for query in (
            "",
            "stage=existing",
            "stage=existing&stage=new&kind=individual",
            f"owner={other_sales.pk}",
        ):
            fs = CustomerFilterSet(QueryDict(query), queryset=Customer.objects.visible_to(user))
            assert fs.is_valid()
            active = {k for k in QueryDict(query)}
            where = scoping.address_where(user=user, filters={k: fs.form.cleaned_data[k] for k in active})
            assert where is not None
            for level in (6, 14):
                ranges = map_selectors._ranges_q(mapmath.bbox_key_ranges(BOX))
                by_copies = map_selectors._grid_from_addresses(
                    map_selectors._filtered_addresses(fs.qs, where).filter(ranges), level
                )
                by_join = map_selectors._grid_from_addresses(
                    map_selectors._filtered_addresses(fs.qs).filter(ranges), level
                )
                assert sorted(c[:2] for c in by_copies) == sorted(c[:2] for c in by_join), (user, query)


def test_search_date_and_precision_filters_still_use_the_customers(sales):
    assert scoping.address_where(user=sales, filters={"q": "北京"}) is None
    assert scoping.address_where(user=sales, filters={"stage": ["new"], "located": "none"}) is None
    assert scoping.address_where(user=sales, filters={"stage": ["new"], "region": "110000"}) is not None
