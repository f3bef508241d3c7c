import pytest

from addresses.models import Address, AddressVersion
from addresses.services import address_create
from customers.models import Customer

pytestmark = pytest.mark.django_db


def _item(ext, name="客户", **extra):
    return {"external_id": ext, "name": name, **extra}


def test_bulk_creates_updates_and_reports_per_item(api_as, manager, make_customer):
    existing = make_customer("旧名", external_id="E1")
    address_create(customer=existing, kind="registered", district_code="440305", detail="旧址")
    body = {
        "items": [
            _item("E1", "新名", addresses=[{"kind": "registered", "raw_text": "上海市黄浦区南京东路1号"}]),
            _item("E2", "乙", addresses=[{"district_code": "440305", "detail": "科技南路"}]),
            _item("E3", "丙", addresses=[{"district_code": "999999"}]),
        ]
    }
    response = api_as(manager).post("/customers/bulk", body)
    assert response.status_code == 200, response.content
    data = response.json()
    assert (data["created"], data["updated"], data["rejected"]) == (1, 1, 1)
    statuses = [i["status"] for i in data["items"]]
    assert statuses == ["updated", "created", "rejected"]
    assert data["items"][2]["errors"][0]["pointer"].startswith("#/items/2/addresses/0/")
    existing.refresh_from_db()
    assert existing.name == "新名"
    assert existing.addresses.get().province.code == "310000"  # the registered address, updated in place
    assert not Customer.objects.filter(external_id="E3").exists()
    assert set(AddressVersion.objects.values_list("channel", flat=True)) == {"form", "api"}

    again = api_as(manager).post("/customers/bulk", {"items": body["items"][:2]}).json()
    assert [i["status"] for i in again["items"]] == ["unchanged", "unchanged"]
    assert Address.objects.count() == 2


def test_bulk_refuses_customers_the_caller_cannot_see_and_owns_what_it_creates(
    api_as, sales, other_sales, make_customer
):
    make_customer("别人的", owner=other_sales, external_id="THEIRS")
    data = api_as(sales).post("/customers/bulk", {"items": [_item("THEIRS", "改名"), _item("MINE")]}).json()
    assert [i["status"] for i in data["items"]] == ["rejected", "created"]
    assert Customer.objects.get(external_id="THEIRS").name == "别人的"
    assert Customer.objects.get(external_id="MINE").owner_id == sales.pk


def test_bulk_duplicate_external_ids_are_refused_whole(api_as, manager):
    response = api_as(manager).post("/customers/bulk", {"items": [_item("A"), _item("B"), _item("A")]})
    assert response.status_code == 400
    assert response.json()["errors"][0]["pointer"] == "#/items/2/external_id"
    assert not Customer.objects.exists()


def test_bulk_over_the_item_limit_is_refused(api_as, manager, settings):
    settings.API_MAX_ITEMS = 10_000
    items = [_item(f"X{i}") for i in range(10_001)]
    response = api_as(manager).post("/customers/bulk", {"items": items})
    assert response.status_code == 400
    assert "10001 items" in response.json()["detail"]
    assert not Customer.objects.exists()


def test_bulk_bad_email_is_a_field_error(api_as, manager):
    response = api_as(manager).post("/customers/bulk", {"items": [_item("A", email="not-an-email")]})
    assert response.status_code == 400
    assert response.json()["errors"][0]["pointer"] == "#/items/0/email"


def test_bulk_unknown_owner_is_refused_for_that_item(api_as, manager):
    data = (
        api_as(manager).post("/customers/bulk", {"items": [_item("A", owner_id=987654), _item("B")]}).json()
    )
    assert [i["status"] for i in data["items"]] == ["rejected", "created"]
    assert data["items"][0]["errors"][0]["pointer"] == "#/items/0/owner_id"
    assert not Customer.objects.filter(external_id="A").exists()
