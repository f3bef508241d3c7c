"""The duplicate scan on the hand-made set, merging customers and undoing a merge."""

import csv
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from addresses.models import Address, AddressVersion
from addresses.services import address_create, address_update
from customers.models import Customer
from customers.services import customer_update
from maps.models import MapCell
from quality.choices import PairStatus
from quality.models import CustomerAlias, CustomerMerge, DuplicatePair
from quality.selectors import customer_by_external_id, look_alikes
from quality.services import (
    UndoRefused,
    customer_keys_rebuild,
    customer_merge,
    customer_merge_undo,
    duplicates_scan,
)

pytestmark = pytest.mark.django_db
HAND_SET = Path(__file__).resolve().parents[1] / "data" / "quality_duplicates.tsv"


def _load_hand_set(owner):
    groups = {}
    with HAND_SET.open(encoding="utf-8") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            c = Customer.objects.create(name=row["name"], phone=row["phone"], email=row["email"], owner=owner)
            address_create(customer=c, district_code=row["district"], detail=row["detail"])
            groups[c.pk] = row["group"]
    return groups


def _scan():
    customer_keys_rebuild()
    return duplicates_scan()


def test_scan_finds_every_hand_made_duplicate_and_nothing_else(sales):
    groups = _load_hand_set(sales)
    _scan()
    found = {(p.customer_a_id, p.customer_b_id) for p in DuplicatePair.objects.all()}
    truth = {(a, b) for a in groups for b in groups if a < b and groups[a] == groups[b]}
    assert found == truth


def test_rescan_keeps_a_dismissed_pair_dismissed(sales):
    _load_hand_set(sales)
    _scan()
    pair = DuplicatePair.objects.first()
    pair.status = PairStatus.DISMISSED
    pair.save()
    result = _scan()
    assert result.new == 0
    assert DuplicatePair.objects.get(pk=pair.pk).status == PairStatus.DISMISSED


@pytest.fixture
def twins(sales, category):
    a = Customer.objects.create(
        name="华南贸易有限公司", phone="0755-88881234", owner=sales, external_id="ERP-1"
    )
    b = Customer.objects.create(
        name="深圳华南贸易股份有限公司",
        phone="+86 755 8888 1234",
        email="hn@example.com",
        owner=sales,
        external_id="ERP-2",
    )
    address_create(
        customer=a,
        actor=sales,
        kind="registered",
        is_primary=True,
        district_code="440305",
        detail="科苑路15号",
    )
    moved = address_create(
        customer=b, actor=sales, kind="registered", is_primary=True, district_code="440305",
        detail="科苑路15号", category_ids=[category.pk],
    )  # fmt: skip
    address_create(customer=b, actor=sales, kind="delivery", district_code="440106", detail="天河路385号")
    return a, b, moved


def _cells():
    return sorted(MapCell.objects.values_list("scope", "level", "x", "y", "count"))


def test_merge_moves_addresses_keeps_alias_and_undo_restores_exactly(sales, twins, category):
    a, b, moved = twins
    cells_before = _cells()
    b_addresses = sorted(Address.objects.filter(customer=b).values_list("pk", "is_primary", "kind"))
    merge = customer_merge(survivor=a, other=b, values={"email": "other"}, actor=sales)
    assert not Customer.objects.filter(pk=b.pk).exists()
    a.refresh_from_db()
    assert a.email == "hn@example.com"
    assert Address.objects.filter(customer=a).count() == 3
    moved.refresh_from_db()
    assert moved.customer_id == a.pk and not moved.is_primary  # a already had a primary registered address
    assert list(moved.categories.values_list("pk", flat=True)) == [category.pk]
    assert AddressVersion.objects.filter(address=moved, customer_id=a.pk, channel="system").exists()
    assert customer_by_external_id(user=sales, external_id="ERP-2") == a
    assert CustomerAlias.objects.filter(external_id="ERP-2", customer=a).exists()

    restored = customer_merge_undo(merge=merge, actor=sales)
    assert restored.pk == b.pk and restored.external_id == "ERP-2" and restored.email == "hn@example.com"
    a.refresh_from_db()
    assert a.email == ""
    assert sorted(Address.objects.filter(customer=b).values_list("pk", "is_primary", "kind")) == b_addresses
    assert list(Address.objects.get(pk=moved.pk).categories.values_list("pk", flat=True)) == [category.pk]
    assert not CustomerAlias.objects.exists()
    assert _cells() == cells_before
    merge.refresh_from_db()
    assert merge.undone_at is not None
    with pytest.raises(UndoRefused):
        customer_merge_undo(merge=merge, actor=sales)


def test_merge_into_itself_is_refused(sales, twins):
    a, _b, _m = twins
    with pytest.raises(ValidationError):
        customer_merge(survivor=a, other=a, actor=sales)


def test_undo_after_the_period_is_refused(sales, twins, settings):
    a, b, _m = twins
    merge = customer_merge(survivor=a, other=b, actor=sales)
    CustomerMerge.objects.filter(pk=merge.pk).update(created_at=merge.created_at - timedelta(days=31))
    settings.QUALITY_MERGE_UNDO_DAYS = 30
    with pytest.raises(UndoRefused) as refused:
        customer_merge_undo(merge=merge, actor=sales)
    assert refused.value.code == "too_old"
    assert not Customer.objects.filter(pk=b.pk).exists()


def test_undo_after_the_survivor_changed_is_refused(sales, twins):
    a, b, moved = twins
    merge = customer_merge(survivor=a, other=b, actor=sales)
    customer_update(customer=Customer.objects.get(pk=a.pk), phone="13800138000")
    with pytest.raises(UndoRefused) as refused:
        customer_merge_undo(merge=merge, actor=sales)
    assert refused.value.code == "survivor_changed"


def test_undo_after_a_moved_address_changed_is_refused(sales, twins):
    a, b, moved = twins
    merge = customer_merge(survivor=a, other=b, actor=sales)
    moved.refresh_from_db()
    address_update(address=moved, expected_version=moved.version, detail="科苑路16号")
    with pytest.raises(UndoRefused) as refused:
        customer_merge_undo(merge=merge, actor=sales)
    assert refused.value.code == "addresses_changed"


def test_look_alikes_warns_at_save_time(sales, twins):
    a, b, _m = twins
    _scan()
    found = look_alikes(user=sales, name="华南贸易公司", phone="0755 8888 1234")
    assert {x.customer.pk for x in found} == {a.pk, b.pk}


def test_look_alikes_only_among_visible_customers(other_sales, twins):
    _scan()
    assert look_alikes(user=other_sales, name="华南贸易公司", phone="0755 8888 1234") == []


# -- pages --------------------------------------------------------------------------


def test_review_page_lists_pairs_and_merge_from_page(client, sales, twins):
    a, b, _m = twins
    _scan()
    pair = DuplicatePair.objects.get()
    client.force_login(sales)
    page = client.get(reverse("quality:duplicates"))
    assert page.status_code == 200 and "华南贸易有限公司" in page.content.decode()
    response = client.post(reverse("quality:pair", args=[pair.pk]), {"survivor": "b", "take_name": "a"})
    assert response.status_code == 302
    survivor = Customer.objects.get(pk=b.pk)
    assert survivor.name == "华南贸易有限公司"
    assert not Customer.objects.filter(pk=a.pk).exists()


def test_merge_of_customers_the_user_cannot_both_see_answers_404(client, sales, other_sales, twins):
    a, b, _m = twins
    customer_update(customer=b, owner=other_sales)
    _scan()
    pair = DuplicatePair.objects.get()
    client.force_login(sales)
    assert client.get(reverse("quality:pair", args=[pair.pk])).status_code == 404
    assert client.post(reverse("quality:pair", args=[pair.pk]), {"survivor": "a"}).status_code == 404
    assert client.post(reverse("quality:dismiss", args=[pair.pk])).status_code == 404
    assert Customer.objects.filter(pk=b.pk).exists()


def test_undo_of_an_invisible_merge_answers_404(client, sales, other_sales, twins):
    a, b, _m = twins
    merge = customer_merge(survivor=a, other=b, actor=sales)
    client.force_login(other_sales)
    assert client.post(reverse("quality:undo", args=[merge.pk])).status_code == 404


def test_look_alike_fragment_warns_before_saving(client, sales, twins):
    _scan()
    client.force_login(sales)
    page = client.get(reverse("quality:look_alikes"), {"name": "华南贸易", "phone": "0755-8888 1234"})
    assert page.status_code == 200 and "华南贸易有限公司" in page.content.decode()
    assert "alert" not in client.get(reverse("quality:look_alikes"), {"name": "完全不同"}).content.decode()


def test_survivor_history_shows_the_moved_addresses_past(sales, twins):
    from addresses.selectors import customer_history

    a, b, moved = twins
    customer_merge(survivor=a, other=b, actor=sales)
    entries = [e for e in customer_history(customer=a) if e.address_id == moved.pk]
    assert [e.created for e in entries] == [False, True]  # the move, then its creation under b
