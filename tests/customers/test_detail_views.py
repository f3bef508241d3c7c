import pytest
from django.urls import reverse

from addresses.services import address_create, address_update
from customers.models import Customer

pytestmark = pytest.mark.django_db

XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture
def customer(make_customer, sales):
    return make_customer("深圳科技有限公司", owner=sales, phone="13800138000", email="a@example.com")


def detail(customer):
    return reverse("customers:detail", args=[customer.pk])


def test_customer_page_shows_details_addresses_and_history(client, sales, customer, category):
    address = address_create(
        customer=customer,
        actor=sales,
        raw_text="广东省深圳市南山区科技园科苑路15号",
        is_primary=True,
        category_ids=[category.pk],
    )
    address_update(address=address, expected_version=1, actor=sales, postcode="518057")
    client.force_login(sales)
    response = client.get(detail(customer))
    assert response.status_code == 200
    html = response.content.decode()
    assert "深圳科技有限公司" in html
    assert "13800138000" in html
    assert "广东省 › 深圳市 › 南山区" in html
    assert "科技园科苑路15号" in html
    assert category.name in html and category.colour in html
    assert 'id="customer-map"' in html
    assert 'id="map-points"' in html
    # the timeline says who changed what: before → after
    history = response.context["history"]
    assert [e.version.version for e in history] == [2, 1]
    assert history[0].actor_name == "sales1"
    assert [(c.before, c.after) for c in history[0].changes] == [("", "518057")]
    assert history[1].created


def test_history_shows_region_chain_and_category_names(client, sales, customer, category):
    address = address_create(customer=customer, actor=sales, district_code="440305", detail="科技园")
    address_update(
        address=address, expected_version=1, actor=sales, district_code="440304", category_ids=[category.pk]
    )
    client.force_login(sales)
    entry = client.get(detail(customer)).context["history"][0]
    changes = [(c.before, c.after) for c in entry.changes]
    assert ("广东省 深圳市 南山区", "广东省 深圳市 福田区") in changes
    assert ("", category.name) in changes


def test_customer_page_without_addresses(client, sales, customer):
    client.force_login(sales)
    response = client.get(detail(customer))
    assert response.status_code == 200
    assert 'id="customer-map"' not in response.content.decode()


def test_sales_user_cannot_open_other_users_customer(client, other_sales, customer):
    client.force_login(other_sales)
    assert client.get(detail(customer)).status_code == 404
    assert client.get(reverse("customers:edit", args=[customer.pk])).status_code == 404
    assert client.post(reverse("customers:edit", args=[customer.pk]), {"name": "x"}).status_code == 404


def test_anonymous_user_is_sent_to_login(client, customer):
    response = client.get(detail(customer))
    assert response.status_code == 302 and "login" in response["Location"]


def test_manager_opens_any_customer(client, manager, customer):
    client.force_login(manager)
    assert client.get(detail(customer)).status_code == 200


def test_user_text_is_escaped_on_the_customer_page(client, sales, make_customer):
    customer = make_customer(XSS, owner=sales)
    address_create(customer=customer, actor=sales, raw_text="北京市朝阳区" + XSS)
    client.force_login(sales)
    html = client.get(detail(customer)).content.decode()
    assert XSS not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_sales_user_creates_customer_and_owns_it(client, sales, manager):
    client.force_login(sales)
    response = client.post(
        reverse("customers:create"),
        {
            "name": "新客户",
            "kind": "enterprise",
            "stage": "new",
            "phone": "",
            "email": "",
            "external_id": "",
            "owner": manager.pk,
            "address-kind": "delivery",
        },
    )
    customer = Customer.objects.get(name="新客户")
    assert response.status_code == 302 and response["Location"] == detail(customer)
    assert customer.owner == sales  # an owner field sent by a sales user is ignored
    assert customer.addresses.count() == 0


def test_create_customer_with_pasted_address(client, sales):
    client.force_login(sales)
    response = client.post(
        reverse("customers:create"),
        {
            "name": "上海客户",
            "kind": "individual",
            "stage": "potential",
            "address-raw_text": "上海市浦东新区世纪大道100号 200120",
            "address-kind": "registered",
            "address-is_primary": "on",
        },
    )
    assert response.status_code == 302
    address = Customer.objects.get(name="上海客户").addresses.get()
    assert address.district.name == "浦东新区"
    assert address.detail == "世纪大道100号" and address.postcode == "200120"
    assert address.is_primary and address.kind == "registered"
    assert address.versions.get().channel == "form"
    assert address.versions.get().actor == sales


def test_bad_address_creates_no_customer(client, sales):
    client.force_login(sales)
    response = client.post(
        reverse("customers:create"),
        {
            "name": "坏地址",
            "kind": "individual",
            "stage": "potential",
            "address-province": "440000",
            "address-district": "110105",
            "address-kind": "delivery",
        },
    )
    assert response.status_code == 200
    assert not Customer.objects.filter(name="坏地址").exists()
    assert response.context["address_form"].errors


def test_manager_chooses_the_owner(client, manager, sales):
    client.force_login(manager)
    client.post(
        reverse("customers:create"),
        {
            "name": "分配客户",
            "kind": "enterprise",
            "stage": "new",
            "owner": sales.pk,
            "address-kind": "delivery",
        },
    )
    assert Customer.objects.get(name="分配客户").owner == sales


def test_customer_form_shows_inline_errors(client, sales, make_customer):
    make_customer("已有", owner=sales, external_id="X-1")
    client.force_login(sales)
    response = client.post(
        reverse("customers:create"),
        {
            "name": "",
            "kind": "enterprise",
            "stage": "new",
            "email": "not-an-email",
            "address-kind": "delivery",
        },
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert "name" in form.errors and "email" in form.errors
    assert "is-invalid" in response.content.decode()
    response = client.post(
        reverse("customers:create"),
        {
            "name": "重复",
            "kind": "enterprise",
            "stage": "new",
            "external_id": "X-1",
            "address-kind": "delivery",
        },
    )
    assert response.status_code == 200
    assert "external_id" in response.context["form"].errors


def test_edit_customer(client, sales, customer):
    client.force_login(sales)
    page = client.get(reverse("customers:edit", args=[customer.pk]))
    assert page.status_code == 200 and "深圳科技有限公司" in page.content.decode()
    assert "owner" not in page.context["form"].fields
    response = client.post(
        reverse("customers:edit", args=[customer.pk]),
        {"name": "深圳科技集团", "kind": "enterprise", "stage": "existing", "phone": "", "email": ""},
    )
    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.name == "深圳科技集团" and customer.stage == "existing" and customer.owner == sales


def test_forms_carry_a_csrf_token(client, sales, customer):
    client.force_login(sales)
    for url in (reverse("customers:create"), reverse("customers:edit", args=[customer.pk])):
        assert "csrfmiddlewaretoken" in client.get(url).content.decode()


def test_post_without_csrf_token_is_refused(sales, customer):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(sales)
    response = client.post(reverse("customers:edit", args=[customer.pk]), {"name": "x", "kind": "enterprise"})
    assert response.status_code == 403


def test_map_points_follow_the_tiles_datum(client, sales, customer, settings):
    address_create(customer=customer, actor=sales, district_code="440305", lat="22.5405", lng="113.9345")
    client.force_login(sales)
    [point] = client.get(detail(customer)).context["map_points"]
    assert (point["lat"], point["lng"]) == (22.5405, 113.9345)
    settings.MAP_TILES = "amap"
    response = client.get(detail(customer))
    [point] = response.context["map_points"]
    assert point["lat"] != 22.5405 and abs(point["lat"] - 22.5405) < 0.01  # GCJ-02 for AMap tiles
    assert response.context["map_config"]["tiles"] == "amap"


def test_customer_page_query_count_does_not_grow_with_addresses(
    client, sales, customer, category, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(sales)
    for district in ("440305", "440304"):
        address_create(customer=customer, actor=sales, district_code=district, category_ids=[category.pk])
    with CaptureQueriesContext(connection) as few:
        client.get(detail(customer))
    for district in ("440303", "440306", "110105", "310115"):
        address_create(customer=customer, actor=sales, district_code=district, category_ids=[category.pk])
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(detail(customer))
