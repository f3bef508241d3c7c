import pytest
from django.urls import reverse


@pytest.fixture
def sales_client(client, sales):
    client.force_login(sales)
    return client


def test_region_children_lists_a_citys_districts(sales_client):
    data = sales_client.get(reverse("geo:region_children"), {"parent": "440300"}).json()
    assert data["parent"] == "440300"
    codes = {r["code"] for r in data["regions"]}
    assert "440305" in codes


def test_region_children_gives_level_and_centre_and_skips_abolished_units(sales_client):
    data = sales_client.get(reverse("geo:region_children"), {"parent": "420000"}).json()
    by_code = {c["code"]: c for c in data["regions"]}
    assert by_code["420100"]["level"] == "city"
    assert by_code["429004"]["level"] == "district"  # 仙桃 hangs under the province
    assert "422100" not in by_code  # abolished prefectures are not offered
    assert by_code["420100"]["lat"] is not None and by_code["420100"]["lng"] is not None


def test_region_children_without_parent_lists_countries_china_first(sales_client):
    countries = sales_client.get(reverse("geo:region_children")).json()["regions"]
    assert countries[0]["code"] == "CN"


def test_region_children_of_an_unknown_region_is_404(sales_client):
    assert sales_client.get(reverse("geo:region_children"), {"parent": "nope"}).status_code == 404


def test_region_children_needs_a_login(client):
    response = client.get(reverse("geo:region_children"))
    assert response.status_code == 302
