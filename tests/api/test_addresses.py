import pytest

from addresses.models import Address, AddressVersion
from addresses.services import address_create, address_update

pytestmark = pytest.mark.django_db


@pytest.fixture
def owned_address(sales, make_customer):
    customer = make_customer("甲", owner=sales)
    return address_create(customer=customer, district_code="440305", detail="科技南十二路2号")


def test_read_carries_the_version_as_etag(api_as, sales, owned_address):
    response = api_as(sales).get(f"/addresses/{owned_address.pk}")
    assert response.status_code == 200
    assert response["ETag"] == '"1"'
    data = response.json()
    assert (data["province"], data["city"], data["district"]) == ("440000", "440300", "440305")
    assert data["region"]["code"] == "440305" and data["precision"] == "district"


def test_patch_with_matching_if_match_writes_and_moves_the_etag(api_as, sales, owned_address):
    response = api_as(sales).patch(
        f"/addresses/{owned_address.pk}",
        {"detail": "科技南十路6号", "verified": True},
        headers={"If-Match": '"1"'},
    )
    assert response.status_code == 200, response.content
    assert response["ETag"] == '"2"'
    assert response.json()["detail"] == "科技南十路6号"
    assert response.json()["verified_at"] is not None


def test_stale_if_match_answers_412_and_writes_nothing(api_as, sales, owned_address):
    address_update(address=owned_address, expected_version=1, detail="别人改了")
    response = api_as(sales).patch(
        f"/addresses/{owned_address.pk}", {"detail": "我的修改"}, headers={"If-Match": '"1"'}
    )
    assert response.status_code == 412
    assert response["ETag"] == '"2"'
    owned_address.refresh_from_db()
    assert owned_address.detail == "别人改了" and owned_address.version == 2
    assert AddressVersion.objects.filter(address=owned_address).count() == 2


def test_create_address_and_read_its_history(api_as, sales, owned_address):
    api = api_as(sales)
    response = api.post(
        "/addresses/", {"customer_id": owned_address.customer_id, "raw_text": "上海市黄浦区南京东路1号"}
    )
    assert response.status_code == 201, response.content
    assert response.json()["province"] == "310000"
    api.patch(f"/addresses/{owned_address.pk}", {"postcode": "518057"})
    history = api.get(f"/addresses/{owned_address.pk}/history").json()
    assert [h["version"] for h in history] == [1, 2]
    assert history[1]["channel"] == "api" and "postcode" in history[1]["changed_fields"]


def test_address_list_is_scoped_and_paged(api_as, sales, other_sales, make_customer, owned_address):
    for i in range(3):
        address_create(customer=owned_address.customer, district_code="440305", detail=f"{i}号")
    hidden = address_create(
        customer=make_customer("乙", owner=other_sales), district_code="440305", detail="x"
    )
    api = api_as(sales)
    page = api.get("/addresses/", {"limit": 3}).json()
    rest = api.get("/addresses/", {"limit": 3, "cursor": page["next_cursor"]}).json()
    ids = [a["id"] for a in page["items"] + rest["items"]]
    assert len(ids) == 4 and hidden.pk not in ids and rest["next_cursor"] is None
    assert api.get(f"/addresses/{hidden.pk}").status_code == 404
    assert api.get(f"/addresses/{hidden.pk}/history").status_code == 404
    assert api.patch(f"/addresses/{hidden.pk}", {"detail": "y"}).status_code == 404
    assert Address.objects.get(pk=hidden.pk).detail == "x"


def test_bad_region_code_is_a_field_error(api_as, sales, owned_address):
    response = api_as(sales).patch(f"/addresses/{owned_address.pk}", {"district_code": "999999"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["pointer"].startswith("#/")
    owned_address.refresh_from_db()
    assert owned_address.version == 1


def test_reference_endpoints(api_as, sales, category):
    api = api_as(sales, scope="read")
    assert api.get("/categories/").json()[0]["name"] == "仓库"
    provinces = api.get("/regions/", {"parent": "CN"}).json()
    assert any(r["code"] == "440000" for r in provinces)
    assert api.get("/regions/440305").json()["parent_code"] == "440300"
    assert api.get("/regions/nope").status_code == 404
    found = api.get("/regions/", {"q": "南山"}).json()
    assert any(r["code"] == "440305" for r in found)
    parsed = api.post("/parse", {"text": "广东省深圳市南山区科技南十二路2号"}).json()
    assert parsed["district"]["code"] == "440305" and parsed["detail"]
    located = api.post("/geocode", {"text": "深圳市南山区"}).json()
    assert located["precision"] == "district" and located["region_code"] == "440305"
    here = api.get("/reverse", {"lat": 22.5333, "lng": 113.9304}).json()
    assert [c["code"] for c in here["chain"]][:4] == ["CN", "440000", "440300", "440305"]
    assert here["label"].startswith("广东省 › 深圳市 › 南山区")
    assert api.get("/reverse", {"lat": 95, "lng": 0}).status_code == 400
