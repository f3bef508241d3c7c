"""Deleting customers and addresses moves them to the trash; restoring gives back the same rows,
categories and history (the chain still verifies), and the map's cells stay equal to a rebuild."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone, translation

from addresses.models import Address, AddressCategory, AddressVersion
from addresses.services import (
    address_create,
    address_delete,
    address_history_verify,
    address_restore,
    address_update,
)
from customers.choices import TrashKind
from customers.models import Customer, TrashItem
from customers.services import customer_delete, customer_restore, customers_delete, trash_purge
from maps import cells
from maps.models import MapCell

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def _cells():
    return {
        (m.scope, m.level, m.x, m.y): (m.count, round(m.lat_sum, 6), round(m.lng_sum, 6))
        for m in MapCell.objects.exclude(count=0)
    }


def _rows(customer_id):
    return [
        (a.pk, a.kind, a.is_primary, a.district_id, a.detail, a.lat, a.lng, a.created_at, a.customer_scopes)
        for a in Address.objects.filter(customer_id=customer_id).order_by("pk")
    ]


@pytest.fixture
def shop():
    return AddressCategory.objects.create(name="门店", colour="#22c55e")


@pytest.fixture
def customer(make_customer, sales, shop):
    customer = make_customer("华南贸易", owner=sales, external_id="HN-1", phone="13800138000")
    head = address_create(
        customer=customer,
        actor=sales,
        district_code="440305",
        detail="科苑路15号",
        is_primary=True,
        category_ids=[shop.pk],
    )
    address_update(address=head, expected_version=1, actor=sales, lat="22.5405", lng="113.9345")
    address_create(
        customer=customer, actor=sales, kind="billing", district_code="110105", lat=39.9, lng=116.4
    )
    other = make_customer("别家", owner=sales)
    address_create(customer=other, actor=sales, district_code="440305", lat=22.55, lng=113.95)
    return customer


def test_customer_goes_to_the_trash_and_comes_back_whole(customer, manager, shop):
    before_rows, before_cells = _rows(customer.pk), _cells()
    versions = list(
        AddressVersion.objects.filter(customer_id=customer.pk).order_by("pk").values_list("pk", "hash")
    )
    item = customer_delete(customer=customer, actor=manager)
    assert (item.kind, item.label, item.deleted_by) == (TrashKind.CUSTOMER, "华南贸易", manager)
    assert not Customer.objects.filter(pk=customer.pk).exists()
    assert not Address.objects.filter(customer_id=customer.pk).exists()
    assert _cells() != before_cells
    kept = _cells()
    cells.map_cells_rebuild()
    assert _cells() == kept

    restored = customer_restore(item=item, actor=manager)
    assert restored.pk == customer.pk
    fresh = Customer.objects.get(pk=customer.pk)
    assert (fresh.name, fresh.external_id, fresh.phone, fresh.owner_id) == (
        "华南贸易",
        "HN-1",
        "13800138000",
        customer.owner_id,
    )
    assert fresh.created_at == customer.created_at
    assert _rows(customer.pk) == before_rows
    head = Address.objects.get(customer_id=customer.pk, kind="delivery")
    assert list(head.categories.values_list("pk", flat=True)) == [shop.pk]
    # The history never left: each address's chain goes on with the deletion's tombstone and the
    # restore's own version, and still verifies.
    after = list(
        AddressVersion.objects.filter(customer_id=customer.pk).order_by("pk").values_list("pk", "hash", "channel")
    )
    assert [(pk, h) for pk, h, _c in after[: len(versions)]] == versions
    channels = [c for _pk, _h, c in after[len(versions) :]]
    assert sorted(channels) == ["deletion", "deletion", "form", "form"]
    assert all(
        address_history_verify(address=a) == [] for a in Address.objects.filter(customer_id=customer.pk)
    )
    assert _cells() == before_cells
    item.refresh_from_db()
    assert item.restored_by == manager and item.restored_at is not None
    with pytest.raises(ValidationError, match="restored already"):
        customer_restore(item=item, actor=manager)


def test_address_goes_to_the_trash_and_comes_back_with_its_history(customer, manager, shop):
    before_rows, before_cells = _rows(customer.pk), _cells()
    head = Address.objects.get(customer_id=customer.pk, kind="delivery")
    item = address_delete(address=head, actor=manager)
    assert (item.kind, item.customer_id, item.object_id) == (TrashKind.ADDRESS, customer.pk, head.pk)
    assert "科苑路15号" in item.label and item.customer_name == "华南贸易"
    assert list(Address.objects.filter(customer_id=customer.pk).values_list("kind", flat=True)) == ["billing"]
    # No one deletes history: the address's chain is closed by a tombstone naming who deleted it.
    tombstone = AddressVersion.objects.filter(address_id=head.pk).order_by("version").last()
    assert (tombstone.channel, tombstone.after, tombstone.actor_id) == ("deletion", {"deleted": True}, manager.pk)
    kept, tags = _cells(), dict(Address.objects.values_list("pk", "customer_scopes"))
    cells.map_cells_rebuild()
    assert _cells() == kept
    cells.customer_scopes_rebuild()
    assert dict(Address.objects.values_list("pk", "customer_scopes")) == tags

    address = address_restore(item=item, actor=manager)
    assert address.pk == head.pk
    assert _rows(customer.pk) == before_rows
    assert address_history_verify(address=address) == []
    # created, moved, deleted (tombstone), restored
    assert AddressVersion.objects.filter(address_id=head.pk).count() == 4
    assert _cells() == before_cells


def test_a_primary_address_restored_after_a_new_primary_comes_back_secondary(customer, manager, sales):
    head = Address.objects.get(customer_id=customer.pk, kind="delivery")
    item = address_delete(address=head, actor=manager)
    address_create(customer=customer, actor=sales, district_code="310101", is_primary=True)
    address = address_restore(item=item, actor=manager)
    assert not address.is_primary
    assert Address.objects.filter(customer_id=customer.pk, kind="delivery", is_primary=True).count() == 1


def test_what_cannot_be_restored_says_why(customer, manager, make_customer):
    head = Address.objects.get(customer_id=customer.pk, kind="delivery")
    address_item = address_delete(address=head, actor=manager)
    customer_item = customer_delete(customer=customer, actor=manager)
    with pytest.raises(ValidationError, match="restore the customer first"):
        address_restore(item=address_item, actor=manager)
    make_customer("新华南", external_id="HN-1")
    with pytest.raises(ValidationError, match="HN-1"):
        customer_restore(item=customer_item, actor=manager)
    TrashItem.objects.filter(pk=customer_item.pk).update(deleted_at=timezone.now() - timedelta(days=31))
    with pytest.raises(ValidationError, match="30 days"):
        customer_restore(item=customer_item, actor=manager)


def test_bulk_delete_makes_one_item_each_and_purge_removes_only_old_ones(customer, manager, make_customer):
    other = make_customer("另一个")
    assert customers_delete(customer_ids=[customer.pk, other.pk], actor=manager) == 2
    assert TrashItem.objects.filter(kind=TrashKind.CUSTOMER).count() == 2
    TrashItem.objects.filter(object_id=other.pk).update(deleted_at=timezone.now() - timedelta(days=40))
    assert trash_purge() == 1
    assert list(TrashItem.objects.values_list("object_id", flat=True)) == [customer.pk]


def test_trash_purge_command(customer, manager):
    import io

    from django.core.management import call_command

    item = customer_delete(customer=customer, actor=manager)
    TrashItem.objects.filter(pk=item.pk).update(deleted_at=timezone.now() - timedelta(days=31))
    out = io.StringIO()
    call_command("trash_purge", stdout=out)
    assert "removed 1 trash item(s) older than 30 days" in out.getvalue()
    assert not TrashItem.objects.exists()
