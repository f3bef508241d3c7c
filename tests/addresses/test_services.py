from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from addresses.choices import AddressKind, Channel
from addresses.models import Address, AddressVersion
from addresses.services import (
    AddressInput,
    StaleAddressError,
    address_create,
    address_history_verify,
    address_update,
    addresses_save,
)
from geo.choices import GeocodePrecision
from geo.coords import wgs84_to_gcj02
from tests.trust.tampering import allow_history_tampering

pytestmark = pytest.mark.django_db


def test_structured_district_fills_the_whole_chain(make_customer):
    customer = make_customer()
    address = address_create(customer=customer, district_code="440305", detail="科技南十二路2号")
    assert (address.country.code, address.province.code, address.city.code, address.district.code) == (
        "CN",
        "440000",
        "440300",
        "440305",
    )
    assert address.region.code == "440305"


def test_district_outside_the_given_city_is_rejected_with_a_clear_error(make_customer):
    customer = make_customer()
    with pytest.raises(ValidationError) as exc:
        address_create(customer=customer, city_code="440100", district_code="440305", detail="x")
    assert "440305" not in str(exc.value)  # names, not codes, in the message
    assert "南山区" in str(exc.value) and "广州市" in str(exc.value)
    assert not Address.objects.exists()


def test_province_given_as_city_is_rejected(make_customer):
    with pytest.raises(ValidationError) as exc:
        address_create(customer=make_customer(), city_code="440000", detail="x")
    assert "city" in exc.value.message_dict


def test_unknown_region_code_is_rejected(make_customer):
    with pytest.raises(ValidationError) as exc:
        address_create(customer=make_customer(), district_code="999999", detail="x")
    assert "999999" in str(exc.value)


def test_province_direct_county_has_no_city(make_customer):
    address = address_create(customer=make_customer(), district_code="429004", detail="干河街道")
    assert address.province.code == "420000"
    assert address.city is None
    assert address.district.name == "仙桃市"


def test_address_without_point_is_located_at_the_region_centroid(make_customer):
    address = address_create(customer=make_customer(), district_code="110105", detail="建国路88号")
    assert address.precision == GeocodePrecision.DISTRICT
    assert address.lat is not None and address.lng is not None
    assert address.geocode_source


def test_gcj02_input_is_stored_in_wgs84(make_customer):
    glat, glng = wgs84_to_gcj02(39.908722, 116.397496)
    address = address_create(
        customer=make_customer(), district_code="110101", detail="天安门", lat=glat, lng=glng, crs="gcj02"
    )
    assert abs(float(address.lat) - 39.908722) < 2e-6
    assert abs(float(address.lng) - 116.397496) < 2e-6
    assert address.precision == GeocodePrecision.ROOFTOP


def test_coordinates_out_of_range_are_rejected(make_customer):
    with pytest.raises(ValidationError) as exc:
        address_create(customer=make_customer(), district_code="110105", lat=91, lng=10)
    assert "lat" in exc.value.message_dict


def test_each_change_writes_one_version_with_a_valid_hash_chain(make_customer, sales):
    customer = make_customer(owner=sales)
    address = address_create(customer=customer, district_code="110105", detail="建国路88号", actor=sales)
    address = address_update(address=address, expected_version=1, detail="建国路89号", actor=sales)
    address = address_update(address=address, expected_version=2, postcode="100022", actor=sales)
    versions = list(AddressVersion.objects.filter(address=address).order_by("version"))
    assert [v.version for v in versions] == [1, 2, 3]
    assert versions[0].prev_hash == ""
    assert versions[1].prev_hash == versions[0].hash
    assert versions[2].prev_hash == versions[1].hash
    assert versions[1].before["detail"] == "建国路88号" and versions[1].after["detail"] == "建国路89号"
    assert versions[1].changed_fields == ["detail"]
    assert versions[2].actor == sales and versions[2].channel == Channel.FORM
    assert address_history_verify(address=address) == []


def test_tampering_with_history_is_detected(make_customer):
    address = address_create(customer=make_customer(), district_code="110105", detail="a")
    address_update(address=address, expected_version=1, detail="b")
    allow_history_tampering()
    AddressVersion.objects.filter(address=address, version=1).update(after={"detail": "forged"})
    assert address_history_verify(address=address) == [1]


def test_unchanged_save_writes_no_version(make_customer):
    address = address_create(customer=make_customer(), district_code="110105", detail="a")
    address = address_update(address=address, expected_version=1, detail="a")
    assert address.version == 1
    assert AddressVersion.objects.filter(address=address).count() == 1


def test_stale_edit_is_refused_and_nothing_is_overwritten(make_customer):
    address = address_create(customer=make_customer(), district_code="110105", detail="original")
    address_update(address=address, expected_version=1, detail="first editor")
    with pytest.raises(StaleAddressError) as exc:
        address_update(address=address, expected_version=1, detail="second editor")
    assert exc.value.address.version == 2
    assert exc.value.expected_version == 1
    assert "1" in str(exc.value) and "2" in str(exc.value)  # both versions named, in any language
    assert Address.objects.get(pk=address.pk).detail == "first editor"


def test_rooftop_point_is_not_replaced_by_a_centroid_on_unrelated_edit(make_customer):
    address = address_create(
        customer=make_customer(),
        district_code="110105",
        detail="a",
        lat=39.92,
        lng=116.46,
        precision="rooftop",
    )
    address = address_update(address=address, expected_version=1, postcode="100020", is_primary=True)
    assert address.precision == GeocodePrecision.ROOFTOP
    assert address.lat == Decimal("39.920000")


def test_one_primary_per_customer_and_kind(make_customer):
    customer = make_customer()
    first = address_create(customer=customer, district_code="110105", detail="a", is_primary=True)
    second = address_create(customer=customer, district_code="110105", detail="b", is_primary=True)
    first.refresh_from_db()
    assert second.is_primary and not first.is_primary
    assert first.version == 2  # the demotion is a recorded change
    billing = address_create(
        customer=customer, district_code="110105", detail="c", is_primary=True, kind=AddressKind.BILLING
    )
    assert billing.is_primary


def test_batch_keeps_good_items_and_reports_bad_ones(make_customer):
    customer = make_customer()
    result = addresses_save(
        items=[
            AddressInput(customer_id=customer.pk, district_code="110105", detail="good 1"),
            AddressInput(customer_id=customer.pk, district_code="nope", detail="bad"),
            AddressInput(customer_id=customer.pk, district_code="440305", detail="good 2"),
            AddressInput(customer_id=customer.pk + 999, district_code="440305", detail="no customer"),
        ],
        channel=Channel.IMPORT,
    )
    assert result.created == 2
    assert set(result.errors) == {1, 3}
    assert "customer" in result.errors[3]
    assert Address.objects.filter(customer=customer).count() == 2
    assert AddressVersion.objects.count() == 2


def test_a_dry_run_reports_what_a_save_would_do_and_writes_nothing(make_customer):
    from maps.models import MapCell

    customer = make_customer()
    kept = address_create(customer=customer, district_code="110105", detail="建国路88号")
    moved = address_create(
        customer=customer, district_code="110105", detail="建国路89号", kind=AddressKind.BILLING
    )
    stored = list(Address.objects.order_by("pk").values_list("pk", "version", "district_id", "is_primary"))
    versions, cells = AddressVersion.objects.count(), sorted(MapCell.objects.values_list("x", "y", "count"))
    items = [
        AddressInput(address_id=kept.pk, district_code="110105", detail="建国路88号"),
        AddressInput(address_id=moved.pk, raw_text="上海市浦东新区世纪大道100号"),
        AddressInput(customer_id=customer.pk, district_code="440305", detail="新的", is_primary=True),
        AddressInput(customer_id=-1, district_code="440305", detail="a customer the dry run would create"),
        AddressInput(customer_id=customer.pk, district_code="110105", detail="x", postcode="123"),
        AddressInput(customer_id=customer.pk + 999, district_code="440305", detail="no customer"),
    ]
    result = addresses_save(items=items, channel=Channel.IMPORT, dry_run=True)
    assert result.statuses[:4] == ["unchanged", "updated", "created", "created"]
    assert (result.created, result.updated, result.unchanged) == (2, 1, 1)
    assert set(result.errors) == {4, 5} and "postcode" in result.errors[4] and "customer" in result.errors[5]
    assert result.addresses[1].district.code == "310115" and result.addresses[1].pk == moved.pk
    # Nothing written: no address, version, demotion of the old primary or map change.
    assert (
        list(Address.objects.order_by("pk").values_list("pk", "version", "district_id", "is_primary"))
        == stored
    )
    assert AddressVersion.objects.count() == versions
    assert sorted(MapCell.objects.values_list("x", "y", "count")) == cells
    # A real save of the same items does what the dry run said.
    items[3] = AddressInput(customer_id=customer.pk, district_code="440305", detail="instead of -1")
    real = addresses_save(items=items, channel=Channel.IMPORT)
    assert real.statuses[:4] == result.statuses[:4] and set(real.errors) == set(result.errors)


def test_historic_region_code_resolves_to_its_successor(make_customer):
    # 闸北区 (310108) merged into 静安区 (310106) in 2015.
    address = address_create(customer=make_customer(), district_code="310108", detail="共和新路")
    assert address.district.code == "310106"


def test_categories_are_written_and_versioned(make_customer, category):
    address = address_create(
        customer=make_customer(), district_code="110105", detail="a", category_ids=[category.pk]
    )
    assert list(address.categories.all()) == [category]
    address = address_update(address=address, expected_version=1, category_ids=[])
    assert address.categories.count() == 0
    assert AddressVersion.objects.get(address=address, version=2).changed_fields == ["categories"]


def test_categorize_adds_and_removes_on_many_addresses(make_customer, category):
    from addresses.models import AddressCategory
    from addresses.services import addresses_categorize

    other = AddressCategory.objects.create(name="门店")
    customer = make_customer()
    a = address_create(customer=customer, district_code="110105", detail="a", category_ids=[other.pk])
    b = address_create(customer=customer, district_code="110105", detail="b")
    result = addresses_categorize(address_ids=[a.pk, b.pk], add=[category.pk], remove=[other.pk])
    assert result.updated == 2
    assert set(a.categories.values_list("pk", flat=True)) == {category.pk}
    assert set(b.categories.values_list("pk", flat=True)) == {category.pk}
    again = addresses_categorize(address_ids=[a.pk, b.pk], add=[category.pk])
    assert again.updated == 0
