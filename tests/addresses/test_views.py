import json

import pytest
from django.urls import reverse

from addresses.models import Address, AddressCategory
from addresses.services import address_create, address_update

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer(make_customer, sales):
    return make_customer("客户甲", owner=sales)


@pytest.fixture
def address(customer, sales):
    return address_create(customer=customer, actor=sales, district_code="440305", detail="科技园科苑路15号")


def form_data(address=None, **overrides):
    data = {
        "raw_text": "",
        "kind": "delivery",
        "country": "CN",
        "province": "440000",
        "city": "440300",
        "district": "440305",
        "detail": "科技园科苑路15号",
        "postcode": "",
        "lat": "",
        "lng": "",
        "pin_moved": "",
        "version": address.version if address else "",
    }
    data.update(overrides)
    return data


def test_add_address_form_renders_for_visible_customer(client, sales, customer):
    client.force_login(sales)
    response = client.get(reverse("addresses:create", args=[customer.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "csrfmiddlewaretoken" in html
    assert 'hx-post="/addresses/parse/"' in html
    assert "data-pin-map" in html


def test_add_address_with_structured_fields(client, sales, customer, category):
    client.force_login(sales)
    response = client.post(
        reverse("addresses:create", args=[customer.pk]),
        form_data(postcode="518057", is_primary="on", categories=[category.pk], verified="on"),
    )
    assert response.status_code == 302
    address = customer.addresses.get()
    assert address.district.code == "440305" and address.city.code == "440300"
    assert address.postcode == "518057" and address.is_primary
    assert list(address.categories.all()) == [category]
    assert address.verified_at is not None
    assert address.precision == "district"  # located at the district centroid
    version = address.versions.get()
    assert version.channel == "form" and version.actor == sales


def test_dragged_pin_is_saved_as_manual_rooftop(client, sales, customer):
    client.force_login(sales)
    client.post(
        reverse("addresses:create", args=[customer.pk]),
        form_data(lat="22.540500", lng="113.934500", pin_moved="1"),
    )
    address = customer.addresses.get()
    assert (str(address.lat), str(address.lng)) == ("22.540500", "113.934500")
    assert address.precision == "rooftop" and address.geocode_source == "manual"


def test_pin_on_amap_tiles_is_converted_from_gcj02(client, sales, customer, settings):
    settings.MAP_TILES = "amap"
    client.force_login(sales)
    client.post(
        reverse("addresses:create", args=[customer.pk]),
        form_data(lat="22.537500", lng="113.939400", pin_moved="1"),
    )
    address = customer.addresses.get()
    # GCJ-02 is offset by a few hundred metres from WGS-84 in Shenzhen.
    assert address.lat != 22.5375 and abs(float(address.lat) - 22.5375) < 0.01
    assert address.precision == "rooftop"


def test_pin_not_moved_keeps_the_geocoded_point(client, sales, customer):
    client.force_login(sales)
    client.post(reverse("addresses:create", args=[customer.pk]), form_data(lat="1", lng="1", pin_moved=""))
    assert customer.addresses.get().precision == "district"


def test_paste_only_is_parsed_by_the_write_path(client, sales, customer):
    client.force_login(sales)
    client.post(
        reverse("addresses:create", args=[customer.pk]),
        form_data(
            raw_text="北京市朝阳区建国路88号", country="CN", province="", city="", district="", detail=""
        ),
    )
    address = customer.addresses.get()
    assert address.district.name == "朝阳区" and address.detail == "建国路88号"


def test_service_errors_are_shown_next_to_the_fields(client, sales, customer):
    client.force_login(sales)
    response = client.post(
        reverse("addresses:create", args=[customer.pk]),
        form_data(district="110105", postcode="12"),  # Beijing district under Shenzhen
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "district" in errors or "city" in errors or "province" in errors
    assert "is-invalid" in response.content.decode()
    assert not customer.addresses.exists()


def test_bad_postcode_is_an_inline_error(client, sales, customer):
    client.force_login(sales)
    response = client.post(reverse("addresses:create", args=[customer.pk]), form_data(postcode="12"))
    assert response.status_code == 200
    assert "postcode" in response.context["form"].errors


def test_edit_form_is_prefilled_with_the_current_version(client, sales, address):
    client.force_login(sales)
    response = client.get(reverse("addresses:edit", args=[address.pk]))
    assert response.status_code == 200
    form = response.context["form"]
    assert form.initial["district"] == "440305" and form.initial["version"] == 1
    html = response.content.decode()
    assert 'name="version" value="1"' in html
    assert '<option value="440305" selected>' in html


def test_edit_address(client, sales, address):
    client.force_login(sales)
    response = client.post(
        reverse("addresses:edit", args=[address.pk]), form_data(address, detail="科苑路16号")
    )
    assert response.status_code == 302
    address.refresh_from_db()
    assert address.detail == "科苑路16号" and address.version == 2
    assert address.versions.order_by("version").last().changed_fields == ["detail"]


def test_unchanged_edit_writes_no_history(client, sales, address):
    client.force_login(sales)
    client.post(reverse("addresses:edit", args=[address.pk]), form_data(address))
    address.refresh_from_db()
    assert address.version == 1 and address.versions.count() == 1


def test_stale_edit_shows_both_versions_and_can_be_reapplied(client, sales, other_sales, address, manager):
    opened_at = address.version
    # Someone else saves first.
    address_update(address=address, expected_version=opened_at, actor=manager, detail="科苑路99号")
    client.force_login(sales)
    url = reverse("addresses:edit", args=[address.pk])
    response = client.post(url, form_data(address, version=opened_at, detail="科苑路16号"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="conflict"' in html
    assert "科苑路16号" in html and "科苑路99号" in html  # yours and theirs, side by side
    assert "manager1" in html
    rows = {row["mine"]: row["current"] for row in response.context["conflict"]["rows"] if row["differs"]}
    assert rows == {"科苑路16号": "科苑路99号"}
    # Nothing was written.
    address.refresh_from_db()
    assert address.detail == "科苑路99号" and address.version == 2
    # The re-rendered form carries the current version: submitting again applies the change.
    assert response.context["form"]["version"].value() == "2"
    response = client.post(url, form_data(address, version=2, detail="科苑路16号"))
    assert response.status_code == 302
    address.refresh_from_db()
    assert address.detail == "科苑路16号" and address.version == 3


def test_another_users_address_answers_404(client, other_sales, address, category):
    client.force_login(other_sales)
    assert client.get(reverse("addresses:edit", args=[address.pk])).status_code == 404
    assert client.post(reverse("addresses:edit", args=[address.pk]), form_data(address)).status_code == 404
    assert client.get(reverse("addresses:create", args=[address.customer_id])).status_code == 404
    response = client.post(reverse("addresses:categorize", args=[address.pk]), {"add": category.pk})
    assert response.status_code == 404
    assert not address.categories.exists()


def test_territory_user_may_edit_addresses_in_the_territory(client, other_sales, address, make_territory):
    make_territory(other_sales, "440000")
    client.force_login(other_sales)
    assert client.get(reverse("addresses:edit", args=[address.pk])).status_code == 200


def test_parse_endpoint_returns_fields_and_ambiguities(client, sales):
    client.force_login(sales)
    response = client.post(reverse("addresses:parse"), {"raw_text": "广东省深圳市南山区科苑路15号 518057"})
    assert response.status_code == 200
    fill = json.loads(
        response.content.decode().split('<script type="application/json">')[1].split("</script>")[0]
    )
    assert fill["province"] == "440000" and fill["city"] == "440300" and fill["district"] == "440305"
    assert fill["postcode"] == "518057" and fill["detail"] == "科苑路15号"
    assert fill["lat"] is not None
    ambiguous = client.post(reverse("addresses:parse"), {"address-raw_text": "朝阳区建国路"})
    assert "data-ambiguity" in ambiguous.content.decode()
    assert "data-chain" in ambiguous.content.decode()


def test_parse_endpoint_escapes_text(client, sales):
    client.force_login(sales)
    html = client.post(reverse("addresses:parse"), {"raw_text": "<script>alert(1)</script>"}).content.decode()
    assert "<script>alert(1)" not in html


def test_parse_endpoint_needs_login_and_post(client, sales):
    assert client.post(reverse("addresses:parse"), {"raw_text": "北京"}).status_code == 302
    client.force_login(sales)
    assert client.get(reverse("addresses:parse")).status_code == 405
    assert client.post(reverse("addresses:parse"), {"raw_text": "  "}).content == b""


def test_assign_and_remove_a_category_from_the_card(client, sales, address, category):
    client.force_login(sales)
    url = reverse("addresses:categorize", args=[address.pk])
    response = client.post(url, {"add": category.pk}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert f'id="address-{address.pk}"' in response.content.decode()
    assert response["HX-Trigger"] == "address-changed"
    assert list(address.categories.all()) == [category]
    address.refresh_from_db()
    assert address.version == 2
    response = client.post(url, {"remove": category.pk})  # without htmx: back to the customer page
    assert response.status_code == 302
    assert not address.categories.exists()
    assert address.versions.count() == 3


def test_categorize_with_unknown_category_changes_nothing(client, sales, address):
    client.force_login(sales)
    url = reverse("addresses:categorize", args=[address.pk])
    assert client.post(url, {"add": 999999}, headers={"HX-Request": "true"}).status_code == 400
    assert Address.objects.get(pk=address.pk).version == 1


def test_card_lists_only_unassigned_categories_to_add(client, sales, address, category):
    other = AddressCategory.objects.create(name="总部", colour="#00ff00")
    client.force_login(sales)
    url = reverse("addresses:categorize", args=[address.pk])
    html = client.post(url, {"add": category.pk}, headers={"HX-Request": "true"}).content.decode()
    assert f'name="remove" value="{category.pk}"' in html
    assert f'name="add" value="{other.pk}"' in html
    assert f'name="add" value="{category.pk}"' not in html
