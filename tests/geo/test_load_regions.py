import dataclasses
from io import StringIO

import pytest
from django.core.management import call_command

from geo.choices import RegionLevel
from geo.loading import regions_load
from geo.models import Region
from geo.regiondata import read_region_records

# Generous bounding boxes (lng_min, lat_min, lng_max, lat_max) of each province,
# written independently of the data under test: a centroid outside its box means
# a bad join or a wrong coordinate conversion.
PROVINCE_BBOX = {
    "110000": (115.4, 39.4, 117.5, 41.1),
    "120000": (116.7, 38.5, 118.1, 40.3),
    "130000": (113.4, 36.0, 119.9, 42.7),
    "140000": (110.2, 34.5, 114.6, 40.8),
    "150000": (97.1, 37.4, 126.1, 53.4),
    "210000": (118.8, 38.7, 125.8, 43.5),
    "220000": (121.6, 40.8, 131.4, 46.3),
    "230000": (121.1, 43.4, 135.1, 53.6),
    "310000": (120.8, 30.6, 122.2, 31.9),
    "320000": (116.3, 30.7, 121.9, 35.2),
    "330000": (118.0, 27.0, 123.2, 31.2),
    "340000": (114.8, 29.3, 119.7, 34.7),
    "350000": (115.8, 23.5, 120.7, 28.4),
    "360000": (113.5, 24.4, 118.5, 30.1),
    "370000": (114.7, 34.3, 122.8, 38.4),
    "410000": (110.3, 31.3, 116.7, 36.4),
    "420000": (108.3, 29.0, 116.2, 33.3),
    "430000": (108.7, 24.6, 114.3, 30.2),
    "440000": (109.6, 20.2, 117.4, 25.6),
    "450000": (104.4, 20.9, 112.1, 26.4),
    "460000": (108.0, 3.0, 118.0, 20.5),  # with the South China Sea islands (三沙)
    "500000": (105.2, 28.1, 110.2, 32.3),
    "510000": (97.3, 26.0, 108.6, 34.4),
    "520000": (103.6, 24.6, 109.6, 29.3),
    "530000": (97.5, 21.1, 106.2, 29.3),
    "540000": (78.4, 26.8, 99.2, 36.6),
    "610000": (105.5, 31.7, 111.3, 39.6),
    "620000": (92.1, 32.5, 108.8, 42.8),
    "630000": (89.4, 31.6, 103.1, 39.2),
    "640000": (104.2, 35.2, 107.7, 39.4),
    "650000": (73.4, 34.3, 96.4, 49.2),
    "710000": (118.1, 21.8, 122.1, 26.4),  # with Kinmen and Matsu
    "810000": (113.8, 22.1, 114.5, 22.6),
    "820000": (113.5, 22.1, 113.65, 22.25),
}
PAD = 0.3


@pytest.fixture(scope="module")
def loads(django_db_setup, django_db_blocker):
    """Load the bundled files twice, once for the whole module (the data stays, like the session load)."""
    with django_db_blocker.unblock():
        first = regions_load()
        second = regions_load()
    return first, second


@pytest.fixture
def regions(loads, db):
    return loads


def region(code: str) -> Region:
    return Region.objects.get(code=code)


def test_counts_per_level(regions):
    cn = Region.objects.active().filter(path__startswith="CN/")
    assert cn.filter(level=RegionLevel.PROVINCE).count() == 34
    assert cn.filter(level=RegionLevel.CITY).count() >= 330
    assert cn.filter(level=RegionLevel.DISTRICT).count() >= 2800
    assert Region.objects.countries().count() >= 249
    assert Region.objects.filter(level=RegionLevel.PROVINCE).exclude(path__startswith="CN/").count() > 3000


def test_second_load_changes_nothing(regions):
    _, second = regions
    assert (second.created, second.updated, second.deactivated) == (0, 0, 0)
    assert second.unchanged == Region.objects.count()


def test_command_says_when_nothing_changed(regions):
    out = StringIO()
    call_command("load_regions", stdout=out)
    text = out.getvalue()
    assert "Nothing changed" in text
    assert "CN: 34 provinces" in text


def test_municipality_is_a_province_with_one_city_of_the_same_name(regions):
    beijing = region("110000")
    city = region("110100")
    assert (beijing.level, city.level, city.name, city.parent) == ("province", "city", "北京市", beijing)
    chaoyang = region("110105")
    assert (chaoyang.name, chaoyang.parent, chaoyang.path) == ("朝阳区", city, "CN/110000/110100/110105/")
    assert list(beijing.children.values_list("code", flat=True)) == ["110100"]
    # 重庆's 县 counties sit under the single city row too.
    assert region("500230").parent.code == "500100"
    assert not Region.objects.filter(name__in=["市辖区", "县", "省直辖县级行政区划", "直辖县"]).exists()


def test_prefecture_city_without_districts_has_only_townships_below(regions):
    for code in ("441900", "442000", "460400", "620200"):
        city = region(code)
        assert city.level == RegionLevel.CITY
        levels = set(city.children.filter(is_active=True).values_list("level", flat=True))
        assert levels == {RegionLevel.TOWNSHIP}, city.name


def test_county_level_units_under_a_province_have_no_city(regions):
    hubei = region("420000")
    for code, name in (("429004", "仙桃市"), ("429021", "神农架林区")):
        unit = region(code)
        assert (unit.name, unit.level, unit.parent) == (name, RegionLevel.DISTRICT, hubei)
    assert region("419001").parent.code == "410000"  # 济源
    assert region("469001").parent.code == "460000"  # 五指山
    assert region("659001").parent.code == "650000"  # 石河子 (XPCC)


def test_hong_kong_macao_taiwan_are_provinces_of_cn(regions):
    for code, short in (("810000", "香港"), ("820000", "澳门"), ("710000", "台湾")):
        unit = region(code)
        assert (unit.level, unit.parent.code, unit.short_name) == (RegionLevel.PROVINCE, "CN", short)


def test_every_active_chinese_centroid_lies_in_its_province(regions):
    outside = []
    rows = Region.objects.active().filter(path__startswith="CN/").exclude(level=RegionLevel.COUNTRY)
    for r in rows.values("code", "name", "lat", "lng", "path"):
        province = r["path"].split("/")[1]
        lng_min, lat_min, lng_max, lat_max = PROVINCE_BBOX[province]
        lat, lng = float(r["lat"]), float(r["lng"])
        if not (lat_min - PAD <= lat <= lat_max + PAD and lng_min - PAD <= lng <= lng_max + PAD):
            outside.append((r["code"], r["name"], lat, lng))
    assert outside == []


def test_centroid_fallback_is_marked_estimated(regions):
    estimated = Region.objects.active().filter(path__startswith="CN/", centroid_estimated=True)
    assert estimated.exists()
    assert set(estimated.values_list("centroid_source", flat=True)) == {"parent"}
    assert (
        not Region.objects.active()
        .filter(path__startswith="CN/", lat__isnull=True)
        .exclude(code="CN")
        .exists()
    )


def test_merged_districts_point_at_their_successor(regions):
    for old, new in (
        ("310108", "310106"),
        ("110103", "110101"),
        ("120107", "120116"),
        ("330104", "330102"),
        ("330204", "330212"),
    ):
        unit = region(old)
        assert not unit.is_active
        assert unit.successor == region(new)
    assert region("310108").name == "闸北区"
    assert region("310106").name == "静安区"


def test_recoded_unit_points_at_todays_code(regions):
    old = region("331021")  # 玉环县 became 玉环市 331083 in 2017
    assert (old.is_active, old.successor.code) == (False, "331083")


def test_abolished_city_points_at_the_city_that_took_its_counties(regions):
    assert region("371200").successor.code == "370100"  # 莱芜市 → 济南市


def test_historic_names_of_renamed_units_are_aliases(regions):
    assert "襄樊市" in region("420600").aliases
    assert "通什市" in region("469001").aliases  # 五指山


def test_short_names_and_aliases(regions):
    guangdong = region("440000")
    assert (guangdong.short_name, guangdong.name_en) == ("广东", "Guangdong")
    assert "CN-GD" in guangdong.aliases
    assert region("150000").short_name == "内蒙古"
    assert region("450000").short_name == "广西"
    assert region("650000").short_name == "新疆"
    enshi = region("422800")
    assert enshi.short_name == "恩施"
    assert "恩施州" in enshi.aliases
    assert region("440305").short_name == "南山"
    assert region("500233").short_name == "忠县"  # never one character
    assert region("370103").short_name == "市中区"  # never a generic word


def test_world_countries_and_subdivisions(regions):
    germany = region("DE")
    assert (germany.name, germany.name_en, germany.level, germany.parent) == (
        "德国",
        "Germany",
        "country",
        None,
    )
    assert "DEU" in germany.aliases
    california = region("US-CA")
    assert (california.parent.code, california.level, california.path) == ("US", "province", "US/US-CA/")
    assert "CA" in california.aliases
    assert not Region.objects.filter(code__startswith="CN-").exists()  # China comes from the MCA table


def test_region_missing_from_the_files_is_deactivated_not_deleted(regions):
    Region.objects.create(code="ZZ", name="Nowhere", level=RegionLevel.COUNTRY, path="ZZ/")
    result = regions_load()
    assert result.deactivated == 1
    assert Region.objects.get(code="ZZ").is_active is False


def test_changed_record_is_updated_and_nothing_else(regions):
    records = [
        dataclasses.replace(r, name_en="Nanshan Qu") if r.code == "440305" else r
        for r in read_region_records()
    ]
    result = regions_load(records=records)
    assert (result.created, result.updated, result.deactivated) == (0, 1, 0)
    assert region("440305").name_en == "Nanshan Qu"
