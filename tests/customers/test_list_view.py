import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from addresses.models import Address, AddressCategory
from addresses.services import address_create
from crm.db.pagination import FilteredCountPaginator
from customers.choices import CustomerKind, RelationshipStage
from customers.models import Customer

pytestmark = pytest.mark.django_db

LIST = reverse("customers:list")


def names(response) -> list[str]:
    return [c.name for c in response.context["customers"]]


@pytest.fixture
def world(make_customer, sales, other_sales, category):
    shop = AddressCategory.objects.create(name="门店", colour="#22c55e")
    nanshan = make_customer(
        "深圳南山科技", owner=sales, phone="13800001111", email="ns@example.com", external_id="EXT-1"
    )
    address_create(
        customer=nanshan, district_code="440305", detail="科技园南区8栋", category_ids=[category.pk]
    )
    futian = make_customer(
        "福田贸易", owner=sales, kind=CustomerKind.INDIVIDUAL, stage=RelationshipStage.EXISTING
    )
    address_create(customer=futian, district_code="440304", detail="深南大道1号", category_ids=[shop.pk])
    beijing = make_customer("北京朝阳", owner=sales, phone="13912345678")
    address_create(customer=beijing, district_code="110105", detail="建国路88号")
    homeless = make_customer("没有地址", owner=sales)
    hidden = make_customer("别人的客户", owner=other_sales)
    address_create(customer=hidden, district_code="440305", detail="隐藏")
    return {
        "nanshan": nanshan,
        "futian": futian,
        "beijing": beijing,
        "homeless": homeless,
        "hidden": hidden,
        "shop": shop,
        "warehouse": category,
    }


@pytest.fixture
def sales_client(client, sales):
    client.force_login(sales)
    return client


def test_list_requires_login(client):
    response = client.get(LIST)
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_sales_user_lists_only_visible_customers(world, sales_client):
    response = sales_client.get(LIST)
    assert response.status_code == 200
    assert set(names(response)) == {"深圳南山科技", "福田贸易", "北京朝阳", "没有地址"}
    assert "别人的客户" not in response.content.decode()


def test_default_sort_is_by_name_in_pinyin_order_on_postgresql(world, sales_client):
    listed = names(sales_client.get(LIST))
    if connection.vendor == "postgresql":
        assert listed == ["北京朝阳", "福田贸易", "没有地址", "深圳南山科技"]  # bei, fu, mei, shen
    else:
        assert listed == sorted(listed)  # SQLite has no ICU: code-point order
    assert names(sales_client.get(LIST, {"sort": "-name"})) == listed[::-1]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("南山", {"深圳南山科技"}),
        ("138 0000", {"深圳南山科技"}),
        ("+86 139-1234-5678", {"北京朝阳"}),
        ("NS@example.com", {"深圳南山科技"}),
        ("EXT-1", {"深圳南山科技"}),
        ("建国路", {"北京朝阳"}),
        ("隐藏", set()),
    ],
)
def test_free_text_search_covers_name_phone_email_external_id_and_address(
    world, sales_client, query, expected
):
    assert set(names(sales_client.get(LIST, {"q": query}))) == expected


def test_region_filter_selects_the_whole_subtree(world, sales_client):
    assert set(names(sales_client.get(LIST, {"region": "440000"}))) == {"深圳南山科技", "福田贸易"}
    assert set(names(sales_client.get(LIST, {"region": "440300"}))) == {"深圳南山科技", "福田贸易"}
    assert set(names(sales_client.get(LIST, {"region": "440305"}))) == {"深圳南山科技"}
    assert set(names(sales_client.get(LIST, {"region": "CN"}))) == {"深圳南山科技", "福田贸易", "北京朝阳"}


def test_unknown_region_matches_nothing(world, sales_client):
    assert names(sales_client.get(LIST, {"region": "999999"})) == []


def test_category_kind_stage_and_located_filters(world, sales_client):
    assert names(sales_client.get(LIST, {"category": world["warehouse"].pk})) == ["深圳南山科技"]
    both = sales_client.get(LIST, {"category": [world["warehouse"].pk, world["shop"].pk]})
    assert set(names(both)) == {"深圳南山科技", "福田贸易"}
    assert names(sales_client.get(LIST, {"kind": "individual"})) == ["福田贸易"]
    assert names(sales_client.get(LIST, {"stage": ["existing"]})) == ["福田贸易"]
    assert set(names(sales_client.get(LIST, {"located": "coarse"}))) == {
        "深圳南山科技",
        "福田贸易",
        "北京朝阳",
    }
    assert names(sales_client.get(LIST, {"located": "precise"})) == []


def test_owner_and_date_filters(world, sales_client, sales, other_sales):
    assert len(names(sales_client.get(LIST, {"owner": sales.pk}))) == 4
    assert names(sales_client.get(LIST, {"owner": other_sales.pk})) == []
    assert (
        names(sales_client.get(LIST, {"created_after": "2000-01-01", "created_before": "2000-12-31"})) == []
    )
    assert len(names(sales_client.get(LIST, {"updated_after": "2000-01-01"}))) == 4


def test_sort_newest_first(world, sales_client):
    response = sales_client.get(LIST, {"sort": "-created"})
    assert names(response)[0] == "没有地址"


def test_active_filters_are_chips_with_names_and_removal_links(world, sales_client):
    response = sales_client.get(
        LIST,
        {"region": "440305", "category": world["warehouse"].pk, "stage": ["new", "existing"]},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    chips = {chip.label: chip for chip in response.context["chips"]}
    assert chips["Region"].value == "Guangdong › Shenzhen › Nanshan District"
    assert "440305" not in chips["Region"].value
    assert chips["Category"].value == "仓库"
    assert "region=" not in chips["Region"].remove_url
    assert "category=" in chips["Region"].remove_url
    stage_chips = [c for c in response.context["chips"] if c.label == "Stage"]
    assert len(stage_chips) == 2
    assert "stage=existing" in stage_chips[0].remove_url and "stage=new" not in stage_chips[0].remove_url


def test_region_picker_is_prefilled_from_the_url(world, sales_client):
    response = sales_client.get(LIST, {"region": "440305"})
    levels = response.context["region_levels"]
    assert [level["selected"] for level in levels] == ["CN", "440000", "440300", "440305"]
    html = response.content.decode()
    assert '<option value="CN" selected>' in html and '<option value="US">' in html
    assert any(r.code == "440304" for r in levels[3]["options"])


def test_result_count_in_both_languages(world, sales_client):
    response = sales_client.get(LIST, {"per_page": 25}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.context["paginator"].count == 4
    assert "4 customers" in response.content.decode()
    assert "4 个客户" in sales_client.get(LIST, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()


def test_htmx_request_renders_only_the_list(world, sales_client):
    response = sales_client.get(LIST, {"q": "南山"}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert "<html" not in body
    assert "深圳南山科技" in body


def test_user_text_is_escaped(sales_client, make_customer, sales):
    make_customer("<script>alert(1)</script>", owner=sales)
    body = sales_client.get(LIST).content.decode()
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body


@pytest.mark.parametrize("per_page", [25, 100])
def test_list_runs_a_fixed_number_of_queries_whatever_the_page_size(
    per_page, manager, make_customer, category, client, django_assert_num_queries
):
    for i in range(110):
        customer = make_customer(f"客户{i:03d}", owner=manager)
        address_create(customer=customer, district_code="440305", detail=f"{i}号", category_ids=[category.pk])
        if i % 3 == 0:
            address_create(
                customer=customer, kind="billing", is_primary=True, district_code="110105", detail="b"
            )
    client.force_login(manager)
    client.get(LIST)  # warm the session
    # session, user, roles, category filter validation, count, page, addresses,
    # their categories, category options, owners, region picker (and on
    # PostgreSQL the planner's estimate before counting).
    with django_assert_num_queries(11 if connection.vendor == "postgresql" else 10):
        response = client.get(LIST, {"per_page": per_page, "category": category.pk})
    assert len(response.context["customers"]) == per_page


def test_filtered_paginator_counts_exactly_below_the_limit(world, sales):
    qs = Customer.objects.visible_to(sales).filter(name__contains="深圳")
    paginator = FilteredCountPaginator(qs.values_list("pk", flat=True), 10)
    assert paginator.count == 1
    assert paginator.estimated is False


# Bulk actions


def bulk_post(client, name, data):
    return client.post(reverse(f"customers:{name}"), {"next": LIST + "?q=x", **data})


def test_bulk_assign_category_to_selected_customers_addresses(world, sales_client):
    ids = [world["nanshan"].pk, world["beijing"].pk]
    response = bulk_post(
        sales_client, "bulk_categorize", {"ids": ids, "category": world["shop"].pk, "mode": "add"}
    )
    assert response.status_code == 302
    assert response["Location"] == LIST + "?q=x"
    tagged = set(Address.objects.filter(categories=world["shop"]).values_list("customer__name", flat=True))
    assert tagged == {"深圳南山科技", "北京朝阳", "福田贸易"}


def test_bulk_remove_category(world, sales_client):
    bulk_post(
        sales_client,
        "bulk_categorize",
        {"ids": world["nanshan"].pk, "category": world["warehouse"].pk, "mode": "remove"},
    )
    assert not Address.objects.filter(categories=world["warehouse"]).exists()


def test_bulk_action_ignores_forged_ids_of_invisible_customers(world, sales_client):
    ids = f"{world['nanshan'].pk},{world['hidden'].pk}"
    bulk_post(sales_client, "bulk_categorize", {"ids": ids, "category": world["shop"].pk, "mode": "add"})
    assert not Address.objects.filter(customer=world["hidden"], categories=world["shop"]).exists()
    assert Address.objects.filter(customer=world["nanshan"], categories=world["shop"]).exists()


def test_bulk_action_refuses_an_offsite_next(world, sales_client):
    response = bulk_post(
        sales_client,
        "bulk_categorize",
        {
            "ids": world["nanshan"].pk,
            "category": world["shop"].pk,
            "mode": "add",
            "next": "https://evil.example/",
        },
    )
    assert response["Location"] == LIST


def test_bulk_action_needs_post_and_csrf(world, sales):
    client = Client(enforce_csrf_checks=True)
    client.force_login(sales)
    url = reverse("customers:bulk_categorize")
    assert client.get(url).status_code == 405
    response = client.post(url, {"ids": world["nanshan"].pk, "category": world["shop"].pk, "mode": "add"})
    assert response.status_code == 403
    assert not Address.objects.filter(categories=world["shop"], customer=world["nanshan"]).exists()


def test_sales_user_cannot_reassign_owner(world, sales_client, other_sales):
    response = bulk_post(sales_client, "bulk_reassign", {"ids": world["nanshan"].pk, "owner": other_sales.pk})
    assert response.status_code == 403
    world["nanshan"].refresh_from_db()
    assert world["nanshan"].owner != other_sales


def test_reassign_is_hidden_for_sales_and_shown_for_managers(world, sales_client, client, manager):
    assert reverse("customers:bulk_reassign") not in sales_client.get(LIST).content.decode()
    client.force_login(manager)
    assert reverse("customers:bulk_reassign") in client.get(LIST).content.decode()


def test_manager_reassigns_owner(world, client, manager, other_sales):
    client.force_login(manager)
    ids = [world["nanshan"].pk, world["futian"].pk]
    bulk_post(client, "bulk_reassign", {"ids": ids, "owner": other_sales.pk})
    assert set(Customer.objects.filter(owner=other_sales).values_list("name", flat=True)) == {
        "深圳南山科技",
        "福田贸易",
        "别人的客户",
    }


def test_sales_user_cannot_open_other_users_customer(world, sales_client):
    assert sales_client.get(world["hidden"].get_absolute_url()).status_code == 404


def test_deep_page_form_of_the_region_filter_selects_the_same_customers(world, sales):
    from customers.filtersets import CustomerFilterSet

    visible = Customer.objects.visible_to(sales)
    for region in ("440000", "440305", "110000"):
        plain = CustomerFilterSet({"region": region}, queryset=visible).qs
        deep = CustomerFilterSet({"region": region}, queryset=visible, deep_page=True).qs
        assert list(deep) == list(plain)


@pytest.mark.parametrize("sort", ["", "name", "-name"])
def test_a_regions_pages_read_off_the_address_name_index_match_the_customer_query(
    sort, manager, sales, make_customer, make_territory, client
):
    from customers.filtersets import CustomerFilterSet
    from customers.selectors import _region_name_index

    given = ["张三", "李四", "王五", "Apple", "阿里", "赵六", "李四", "钱七", "孙八"]
    for i in range(60):
        c = make_customer(f"{given[i % len(given)]}{i % 4}", owner=manager)
        address_create(customer=c, district_code=("440305", "440104", "110105")[i % 3])
        if i % 5 == 0:  # a second address in the same province, and one in another
            address_create(customer=c, district_code="440304", kind="billing")
        if i % 7 == 0:
            address_create(customer=c, district_code="310101", kind="other")
    make_customer("销售自己的客户", owner=sales)  # no address: outside every region
    make_territory(sales, "440000")
    for user, region in ((manager, "440000"), (manager, "440300"), (sales, "440300")):
        client.force_login(user)
        params = {"region": region, **({"sort": sort} if sort else {})}
        filterset = CustomerFilterSet(params, queryset=Customer.objects.visible_to(user))
        expected = [c.name for c in filterset.qs]
        assert len(expected) > 25
        assert _region_name_index(filterset, user, filterset.qs.query.order_by) is not None
        shown = []
        for page in range(1, (len(expected) + 24) // 25 + 1):
            shown += names(client.get(LIST, {**params, "per_page": 25, "page": page}))
        assert shown == expected
    # Another filter, another sort or a user who sees only some customers: the customer query.
    for params, user in (
        ({"region": "440000", "stage": "new"}, manager),
        ({"region": "440000", "sort": "-created"}, manager),
        ({"region": "440305"}, manager),
        ({"region": "110000"}, sales),  # outside the territory: only some customers there are visible
        ({"region": "440000", "created_after": "2099-01-01"}, manager),  # a range filter's own names
    ):
        filterset = CustomerFilterSet(params, queryset=Customer.objects.visible_to(user))
        _ = filterset.qs  # runs the filters: filter_region remembers the region
        assert _region_name_index(filterset, user, filterset.qs.query.order_by) is None


def test_a_region_with_a_date_range_keeps_the_date_filter(manager, make_customer, client):
    import datetime

    old = make_customer("Aold", owner=manager)
    address_create(customer=old, district_code="440305")
    new = make_customer("Bnew", owner=manager)
    address_create(customer=new, district_code="440305")
    Customer.objects.filter(pk=old.pk).update(created_at=datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC))
    client.force_login(manager)
    assert names(client.get(LIST, {"region": "440000", "created_after": "2025-01-01"})) == ["Bnew"]


@pytest.mark.parametrize("sort", ["name", "-name", "-created"])
def test_deep_page_seek_from_a_remembered_boundary_gives_the_offset_page(sort, manager, make_customer):
    from django.core.cache import cache
    from django.http import QueryDict

    from customers.filtersets import CustomerFilterSet
    from customers.selectors import _deep_page_key, _seek_from_cached_boundary

    for i in range(40):
        make_customer(f"客户{i % 7}", owner=manager)  # repeated names: ties broken by id
    qs = CustomerFilterSet({"sort": sort}, queryset=Customer.objects.visible_to(manager)).qs
    ordering = qs.query.order_by
    ids = list(qs.values_list("pk", flat=True))
    key = _deep_page_key(user=manager, params=QueryDict(f"sort={sort}&page=2"), per_page=5)
    first = Customer.objects.get(pk=ids[5])
    cache.set(f"{key}:2", (getattr(first, ordering[0].lstrip("-")), first.pk))
    try:
        for number in (2, 3, 5):
            seek = _seek_from_cached_boundary(qs, ordering, key, number, 5)
            assert list(seek) == ids[(number - 1) * 5 : number * 5]
        assert _seek_from_cached_boundary(qs, ordering, key, 1, 5) is None
    finally:
        cache.delete(f"{key}:2")


def test_district_and_category_match_a_customer_whose_category_is_on_another_address(
    world, sales_client, make_customer, sales
):
    split = make_customer("两处地址", owner=sales)
    address_create(customer=split, district_code="440305", detail="无分类")
    address_create(
        customer=split, district_code="110105", detail="仓库在北京", category_ids=[world["warehouse"].pk]
    )
    plain = make_customer("南山无分类", owner=sales)
    address_create(customer=plain, district_code="440305", detail="无分类")
    listed = set(names(sales_client.get(LIST, {"region": "440305", "category": world["warehouse"].pk})))
    assert listed == {"深圳南山科技", "两处地址"}
    both = {"region": "440305", "category": [world["warehouse"].pk, world["shop"].pk]}
    assert set(names(sales_client.get(LIST, both))) == {"深圳南山科技", "两处地址"}
