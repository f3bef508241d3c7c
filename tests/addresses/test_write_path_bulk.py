"""Batches big enough for the bulk paths (COPY, array lookups on PostgreSQL) keep every invariant."""

import pytest

from addresses.models import Address
from addresses.services import AddressInput, address_history_verify, addresses_save
from crm.db.batch_lookup import in_values
from customers.models import Customer
from customers.services import customers_upsert
from geo import mapmath
from maps import cells
from maps.models import MapCell

pytestmark = pytest.mark.django_db

N = 260  # above crm.db.bulk_insert.COPY_MIN_ROWS and crm.db.batch_lookup.MIN_VALUES


def _cells():
    return {
        (m.level, m.x, m.y): (m.count, round(m.lat_sum, 4), round(m.lng_sum, 4))
        for m in MapCell.objects.filter(count__gt=0)
    }


def test_large_batch_of_moves_keeps_map_cells_equal_to_a_rebuild(category):
    customers = customers_upsert(
        rows=[{"external_id": f"B{i}", "name": f"客户{i}"} for i in range(N)], fields=["name"]
    )
    items = [
        AddressInput(
            customer_id=pk,
            district_code="310115",
            lat=31.0 + i * 0.01,
            lng=121.0 + i * 0.007,
            category_ids=[category.pk] if i % 3 == 0 else [],
        )
        for i, (pk, _status) in enumerate(customers)
    ]
    created = addresses_save(items=items, channel="system")
    assert created.ok and created.created == N
    assert all(a.map_key == mapmath.map_key(a.lat, a.lng) for a in created.addresses)
    # Move every other address to another district and point; the rest stay (unchanged).
    moves = [
        AddressInput(
            address_id=a.pk,
            expected_version=1,
            district_code="440305" if i % 2 else None,
            lat=22.5 + i * 0.001 if i % 2 else None,
            lng=113.9 if i % 2 else None,
        )
        for i, a in enumerate(created.addresses)
    ]
    moved = addresses_save(items=moves, channel="import")
    assert moved.ok and moved.updated == N // 2 and moved.unchanged == N - N // 2
    incremental = _cells()
    cells.map_cells_rebuild()
    assert _cells() == incremental
    assert sum(n for (level, _x, _y), (n, _la, _ln) in incremental.items() if level == 8) == N
    sample = Address.objects.filter(pk__in=[a.pk for a in created.addresses[:6]])
    assert all(address_history_verify(address=a) == [] for a in sample)
    assert Address.categories.through.objects.count() == len(range(0, N, 3))


def test_array_lookup_matches_quotes_commas_and_braces():
    odd = ['a"b', "c,d", "{e}", "f\\g", "中 文"]
    ids = odd + [f"E{i}" for i in range(N)]
    out = customers_upsert(rows=[{"external_id": e, "name": "x"} for e in ids], fields=["name"])
    assert [s for _pk, s in out] == ["created"] * len(ids)
    again = customers_upsert(rows=[{"external_id": e, "name": "x"} for e in ids], fields=["name"])
    assert [s for _pk, s in again] == ["unchanged"] * len(ids)
    found = Customer.objects.filter(external_id__in=in_values(ids, db_type="text"))
    assert found.count() == len(ids)
