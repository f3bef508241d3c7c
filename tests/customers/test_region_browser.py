import pytest
from django.urls import reverse

from addresses.services import address_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(make_customer, sales, other_sales):
    for i, code in enumerate(["440305", "440305", "440304", "440106", "110105"]):
        customer = make_customer(f"客户{i}", owner=sales)
        address_create(customer=customer, district_code=code, detail="1号")
    # Two addresses in one district count the customer once there.
    address_create(customer=customer, kind="billing", is_primary=True, district_code="110105", detail="2号")
    hidden = make_customer("别人的", owner=other_sales)
    address_create(customer=hidden, district_code="440305", detail="x")
    xiantao = make_customer("仙桃客户", owner=sales)
    address_create(
        customer=xiantao, district_code="429004", detail="y"
    )  # a district directly under its province


def counts(response) -> dict[str, int]:
    return {row["region"].code: row["count"] for row in response.context["rows"]}


def test_top_level_counts_visible_customers_per_country(world, client, sales):
    client.force_login(sales)
    response = client.get(reverse("customers:regions"))
    assert response.status_code == 200
    assert counts(response) == {"CN": 6}
    assert response.context["total"] == 6


def test_drill_down_province_city_district(world, client, sales):
    client.force_login(sales)
    assert counts(client.get(reverse("customers:regions", args=["CN"]))) == {
        "440000": 4,
        "110000": 1,
        "420000": 1,
    }
    assert counts(client.get(reverse("customers:regions", args=["440000"]))) == {"440300": 3, "440100": 1}
    assert counts(client.get(reverse("customers:regions", args=["440300"]))) == {"440305": 2, "440304": 1}
    district = client.get(reverse("customers:regions", args=["440305"]))
    assert district.status_code == 200
    assert district.context["rows"] == []
    assert district.context["total"] == 2


def test_district_directly_under_province_is_listed(world, client, sales):
    client.force_login(sales)
    assert counts(client.get(reverse("customers:regions", args=["420000"]))) == {"429004": 1}


def test_customer_with_two_addresses_in_one_region_counts_once(world, client, sales):
    client.force_login(sales)
    assert counts(client.get(reverse("customers:regions", args=["110000"]))) == {"110100": 1}


def test_manager_counts_include_everyone(world, client, manager):
    client.force_login(manager)
    assert counts(client.get(reverse("customers:regions", args=["440300"]))) == {"440305": 3, "440304": 1}


def test_every_count_links_to_the_filtered_list(world, client, sales):
    client.force_login(sales)
    body = client.get(reverse("customers:regions", args=["440000"])).content.decode()
    assert f"{reverse('customers:list')}?region=440300" in body
    assert f"{reverse('customers:regions', args=['440300'])}" in body


def test_bar_chart_is_drawn(world, client, sales):
    client.force_login(sales)
    body = client.get(reverse("customers:regions", args=["CN"])).content.decode()
    assert body.count('class="dz-bar"') == 3


def test_unknown_region_is_404(client, sales):
    client.force_login(sales)
    assert client.get(reverse("customers:regions", args=["nope"])).status_code == 404


def test_region_browser_requires_login(client):
    assert client.get(reverse("customers:regions")).status_code == 302


def test_counts_are_shared_by_managers_and_renewed_by_the_next_address_write(
    world, client, manager, make_customer, django_capture_on_commit_callbacks
):
    client.force_login(manager)
    assert counts(client.get(reverse("customers:regions"))) == {"CN": 7}
    with django_capture_on_commit_callbacks(execute=True):
        address_create(customer=make_customer("新客户", owner=manager), district_code="440305", detail="z")
    response = client.get(reverse("customers:regions"))
    assert counts(response) == {"CN": 8}
    assert response.context["total"] == 8
