"""The daily snapshot, the dashboard, the verification schedule and "confirmed by phone"."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from addresses.models import Address
from addresses.services import address_create
from customers.models import Customer
from quality.models import QualitySnapshot
from quality.schedule import status_q
from quality.services import quality_snapshot_take

pytestmark = pytest.mark.django_db


@pytest.fixture
def data(sales, category):
    now = timezone.now()
    good = Customer.objects.create(name="好客户", phone="13800138000", email="a@example.com", owner=sales)
    bad = Customer.objects.create(name="坏客户", phone="call me maybe", email="not-an-email", owner=sales)
    address_create(
        customer=good, district_code="440305", detail="科苑路15号", postcode="518057", verified_at=now
    )
    address_create(
        customer=good, district_code="440106", detail="天河路1号", postcode="510000",
        verified_at=now - timedelta(days=400),
    )  # fmt: skip
    address_create(
        customer=bad, district_code="310104", detail="漕溪北路88号", verified_at=now - timedelta(days=200),
        category_ids=[category.pk],
    )  # fmt: skip
    address_create(customer=bad, raw_text="火星基地")
    # Rows from before the write path checked postcodes (a spreadsheet dropped a leading zero;
    # a typo): the snapshot must count them.
    Address.objects.filter(detail="天河路1号").update(postcode="51000")
    Address.objects.filter(detail="漕溪北路88号").update(postcode="2000X")
    return good, bad


def test_snapshot_counts_everything_per_province_and_owner(data, sales):
    quality_snapshot_take()
    overall = QualitySnapshot.objects.get(scope="all").figures
    assert overall["customers"] == 2 and overall["addresses"] == 4
    assert overall["invalid_phone"] == 1 and overall["invalid_email"] == 1
    assert overall["unverified"] == 1 and overall["overdue"] == 1
    assert overall["not_located"] == 1
    assert overall["postcode_lost_zero"] == 1 and overall["invalid_postcode"] == 2  # the lost zero counts too
    owner = QualitySnapshot.objects.get(scope="owner", scope_id=sales.pk).figures
    assert owner["customers"] == 2 and owner["addresses"] == 4
    provinces = {s.scope_id: s.figures["addresses"] for s in QualitySnapshot.objects.filter(scope="province")}
    assert sorted(provinces.values()) == [1, 1, 2]


def test_a_second_snapshot_the_same_day_replaces_the_first(data):
    quality_snapshot_take()
    quality_snapshot_take()
    assert QualitySnapshot.objects.filter(scope="all").count() == 1


def test_category_period_overrides_the_default(data, settings, category):
    settings.QUALITY_VERIFY_MONTHS_BY_CATEGORY = {category.name: 6}
    overdue = set(Address.objects.filter(status_q("overdue")).values_list("detail", flat=True))
    assert overdue == {"天河路1号", "漕溪北路88号"}
    settings.QUALITY_VERIFY_MONTHS_BY_CATEGORY = {}
    assert set(Address.objects.filter(status_q("overdue")).values_list("detail", flat=True)) == {"天河路1号"}


def test_dashboard_is_for_managers(client, data, sales, manager):
    client.force_login(sales)
    assert client.get(reverse("quality:dashboard")).status_code == 403
    client.force_login(manager)
    page = client.get(reverse("quality:dashboard"))
    assert page.status_code == 200 and "no-snapshot" in page.content.decode()
    assert client.post(reverse("quality:dashboard")).status_code == 302
    page = client.get(reverse("quality:dashboard")).content.decode()
    assert 'data-figure="overdue"' in page and "广东省" in page


def test_my_addresses_to_verify_and_confirm_by_phone(client, data, sales, other_sales):
    client.force_login(sales)
    page = client.get(reverse("quality:verify"))
    assert page.status_code == 200
    text = page.content.decode()
    assert "天河路1号" in text and "火星基地" in text and "科苑路15号" not in text
    address = Address.objects.get(raw_text="火星基地")
    response = client.post(reverse("quality:confirm", args=[address.pk]), {"next": "https://evil.example/"})
    assert response.status_code == 302 and response["Location"] == reverse("quality:verify")
    address.refresh_from_db()
    assert address.verified_at > timezone.now() - timedelta(minutes=1)
    assert address.versions.order_by("-version").first().changed_fields == ["verified_at"]


def test_confirming_an_invisible_address_answers_404(client, data, other_sales):
    client.force_login(other_sales)
    address = Address.objects.get(detail="天河路1号")
    assert client.post(reverse("quality:confirm", args=[address.pk])).status_code == 404
    assert "天河路1号" not in client.get(reverse("quality:verify")).content.decode()


def test_confirming_an_address_with_a_broken_postcode_asks_for_a_correction(client, data, sales):
    client.force_login(sales)
    address = Address.objects.get(detail="天河路1号")
    response = client.post(reverse("quality:confirm", args=[address.pk]), follow=True)
    assert "邮编" in response.content.decode() or "postcode" in response.content.decode()
    address.refresh_from_db()
    assert address.verified_at < timezone.now() - timedelta(days=300)
