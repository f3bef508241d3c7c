import pytest

from addresses.choices import Channel
from addresses.models import Address, AddressVersion
from addresses.services import address_create
from customers.models import Customer

pytestmark = pytest.mark.django_db


def test_sales_token_lists_only_visible_customers(api_as, sales, other_sales, make_customer, make_territory):
    mine = make_customer("甲公司", owner=sales)
    in_territory = make_customer("乙公司", owner=other_sales)
    address_create(customer=in_territory, district_code="440305", detail="科技南路")
    hidden = make_customer("丙公司", owner=other_sales)
    make_territory(sales, "440000")

    response = api_as(sales).get("/customers/")

    assert response.status_code == 200
    ids = {c["id"] for c in response.json()["items"]}
    assert ids == {mine.pk, in_territory.pk}
    assert hidden.pk not in ids
    row = next(c for c in response.json()["items"] if c["id"] == in_territory.pk)
    assert row["addresses"][0]["district"] == "440305"


def test_customer_the_caller_cannot_see_answers_404_not_403(api_as, sales, other_sales, make_customer):
    hidden = make_customer("丙公司", owner=other_sales)
    api = api_as(sales)
    for response in (
        api.get(f"/customers/{hidden.pk}"),
        api.patch(f"/customers/{hidden.pk}", {"name": "改名"}),
        api.post("/addresses/", {"customer_id": hidden.pk, "district_code": "440305"}),
    ):
        assert response.status_code == 404
        assert response["Content-Type"] == "application/problem+json"
    assert Customer.objects.get(pk=hidden.pk).name == "丙公司"
    assert not Address.objects.exists()


def test_list_filters_like_the_list_page_and_pages_by_cursor(api_as, manager, make_customer):
    for i in range(5):
        c = make_customer(f"客户{i}", stage="existing" if i % 2 else "potential")
        address_create(customer=c, district_code="440305" if i < 4 else "310101", detail="x")
    api = api_as(manager)

    first = api.get("/customers/", {"region": "440000", "limit": 2}).json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    second = api.get("/customers/", {"region": "440000", "limit": 2, "cursor": first["next_cursor"]}).json()
    assert second["next_cursor"] is None
    names = [c["name"] for c in first["items"] + second["items"]]
    assert sorted(names) == ["客户0", "客户1", "客户2", "客户3"] and len(set(names)) == 4

    existing = api.get("/customers/", {"stage": ["existing"]}).json()["items"]
    assert {c["name"] for c in existing} == {"客户1", "客户3"}
    newest = api.get("/customers/", {"sort": "-created", "limit": 1}).json()
    assert newest["items"][0]["name"] == "客户4"
    older = api.get("/customers/", {"sort": "-created", "limit": 10, "cursor": newest["next_cursor"]}).json()
    assert [c["name"] for c in older["items"]] == ["客户3", "客户2", "客户1", "客户0"]


def test_create_customer_with_addresses_through_the_write_path(api_as, sales):
    response = api_as(sales).post(
        "/customers/",
        {
            "name": "深圳某科技有限公司",
            "external_id": "ERP-1",
            "addresses": [
                {"raw_text": "广东省深圳市南山区科技南十二路2号", "kind": "registered", "is_primary": True}
            ],
        },
    )

    assert response.status_code == 201, response.content
    data = response.json()
    assert data["owner_id"] == sales.pk  # a salesperson owns what they create
    assert data["addresses"][0]["district"] == "440305"
    assert response["Location"] == f"/api/v1/customers/{data['id']}"
    version = AddressVersion.objects.get(address_id=data["addresses"][0]["id"])
    assert version.channel == Channel.API and version.actor_id == sales.pk


def test_bad_address_creates_neither_customer_nor_address(api_as, sales):
    response = api_as(sales).post(
        "/customers/",
        {"name": "坏地址公司", "addresses": [{"city_code": "440100", "district_code": "440305"}]},
    )
    assert response.status_code == 400
    pointers = {e["pointer"] for e in response.json()["errors"]}
    assert any(p.startswith("#/addresses/0/") for p in pointers)
    assert not Customer.objects.exists()


def test_patch_changes_only_the_given_fields(api_as, sales, make_customer):
    customer = make_customer("旧名", owner=sales, phone="13800000000")
    response = api_as(sales).patch(f"/customers/{customer.pk}", {"stage": "existing"})
    assert response.status_code == 200
    customer.refresh_from_db()
    assert (customer.name, customer.stage, customer.phone) == ("旧名", "existing", "13800000000")


def test_sales_may_not_hand_customers_to_others_nor_delete(api_as, sales, other_sales, make_customer):
    customer = make_customer("甲", owner=sales)
    api = api_as(sales)
    assert api.patch(f"/customers/{customer.pk}", {"owner_id": other_sales.pk}).status_code == 403
    assert api.delete(f"/customers/{customer.pk}").status_code == 403
    customer.refresh_from_db()
    assert customer.owner_id == sales.pk


def test_manager_deletes_a_customer(api_as, manager, make_customer):
    customer = make_customer("甲")
    address_create(customer=customer, district_code="440305", detail="x")
    assert api_as(manager).delete(f"/customers/{customer.pk}").status_code == 204
    assert not Customer.objects.filter(pk=customer.pk).exists()
    assert not Address.objects.exists()


def test_duplicate_external_id_is_a_field_error(api_as, manager, make_customer):
    make_customer("甲", external_id="X1")
    response = api_as(manager).post("/customers/", {"name": "乙", "external_id": "X1"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["pointer"] == "#/external_id"
    assert Customer.objects.count() == 1
