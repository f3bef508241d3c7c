"""Map keys, the MapCell aggregate kept by the write path, and the grid selectors."""

import pytest

from addresses.models import Address
from addresses.services import AddressInput, address_create, address_update, addresses_save
from geo import mapmath
from maps import cells
from maps import selectors as map_selectors
from maps.models import MapCell

pytestmark = pytest.mark.django_db


def _cells(level):
    return {(c.x, c.y): c.count for c in MapCell.objects.filter(level=level, count__gt=0)}


def test_morton_roundtrip_and_cell_ranges_nest():
    x, y = mapmath.cell_xy(39.9, 116.4, mapmath.KEY_LEVEL)
    key = mapmath.morton(x, y)
    assert mapmath.unmorton(key) == (x, y)
    for level in (3, 10, 20):
        code = key >> mapmath.key_shift(level)
        lo, hi = mapmath.cell_key_range(code, level)
        assert lo <= key < hi
        assert mapmath.unmorton(code) == mapmath.cell_xy(39.9, 116.4, level)


def test_bbox_key_ranges_cover_every_point_inside():
    box = mapmath.BBox(39.8, 116.2, 40.1, 116.6)
    ranges = mapmath.bbox_key_ranges(box)
    assert len(ranges) <= 24
    for lat in (39.8, 39.95, 40.1):
        for lng in (116.2, 116.4, 116.6):
            key = mapmath.map_key(lat, lng)
            assert any(lo <= key < hi for lo, hi in ranges)


def test_point_in_polygon():
    square = [(0, 0), (0, 10), (10, 10), (10, 0)]
    assert mapmath.point_in_polygon(5, 5, square)
    assert not mapmath.point_in_polygon(11, 5, square)


def test_write_path_sets_map_key_and_counts(make_customer):
    c = make_customer("甲")
    a = address_create(customer=c, district_code="110101", lat="39.91", lng="116.40")
    assert a.map_key == mapmath.map_key(39.91, 116.40)
    assert Address.objects.get(pk=a.pk).map_key == a.map_key
    level = 10
    assert _cells(level) == {mapmath.cell_xy(39.91, 116.40, level): 1}
    province = MapCell.objects.get(level=cells.REGION_LEVELS["province"], x=a.province_id)
    assert province.count == 1


def test_moving_an_address_moves_its_count(make_customer):
    c = make_customer("乙")
    a = address_create(customer=c, district_code="110101", lat="39.91", lng="116.40")
    address_update(address=a, expected_version=a.version, district_code="440305", lat="22.53", lng="113.93")
    assert _cells(10) == {mapmath.cell_xy(22.53, 113.93, 10): 1}
    assert MapCell.objects.get(level=101, x=a.province_id).count == 0
    a.refresh_from_db()
    assert MapCell.objects.get(level=101, x=a.province_id).count == 1


def test_batch_counts_match_a_rebuild(make_customer):
    customers = [make_customer(f"客户{i}") for i in range(30)]
    items = [
        AddressInput(customer_id=c.pk, district_code="310115", lat=31.2 + i * 0.003, lng=121.5 + i * 0.002)
        for i, c in enumerate(customers)
    ]
    assert addresses_save(items=items, channel="system").ok
    before = {(m.level, m.x, m.y): m.count for m in MapCell.objects.filter(count__gt=0)}
    cells.map_cells_rebuild()
    after = {(m.level, m.x, m.y): m.count for m in MapCell.objects.filter(count__gt=0)}
    assert before == after
    assert sum(v for (lvl, _x, _y), v in after.items() if lvl == 5) == 30


def test_grid_paths_agree(make_customer):
    """The MapCell path and the filtered GROUP BY path give the same clusters."""
    for i in range(12):
        c = make_customer(f"丙{i}")
        address_create(
            customer=c, district_code="110105", lat=39.9 + (i % 4) * 0.05, lng=116.4 + (i // 4) * 0.05
        )
    box = mapmath.BBox(39.0, 115.0, 41.0, 118.0)
    from customers.models import Customer

    for level in (6, 12, 15, 19):
        agg = map_selectors.grid(customers=None, scope=None, bbox=box, level=level)
        direct = map_selectors._grid_from_addresses(
            map_selectors._filtered_addresses(Customer.objects.all()).filter(
                map_selectors._ranges_q(mapmath.bbox_key_ranges(box))
            ),
            level,
        )
        assert sorted((c[0], c[1]) for c in agg) == sorted((c[0], c[1]) for c in direct)
        assert sum(c[1] for c in agg) == 12
