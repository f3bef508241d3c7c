"""WGS-84 ⇄ GCJ-02 ⇄ BD-09 conversion against published reference values.

Reference pairs come from other implementations' public test suites:
- googollee/eviltransform, python/test.py (TESTS: wgsLat, wgsLng, gcjLat, gcjLng);
- coordtransform_rs tests and dromara/hutool
  hutool-core/src/test/java/cn/hutool/core/util/CoordinateUtilTest.java, both
  taken from wandergis/coordtransform, for (lng 116.404, lat 39.915);
- hujiulong/gcoord, test/unit/crs/GCJ02.spec.js and BD09.spec.js, for (123, 45).
The one-step GCJ-02 inverse of coordtransform is itself approximate, so values
produced by an inverse are compared at 5e-6 degrees (half a metre), forward
ones at 1e-9.
"""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from geo.coords import (
    bd09_to_gcj02,
    bd09_to_wgs84,
    from_wgs84,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    haversine_km,
    in_china,
    to_wgs84,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)

# eviltransform python/test.py: (wgs lat, wgs lng, gcj lat, gcj lng)
EVILTRANSFORM_PAIRS = [
    (31.1774276, 121.5272106, 31.17530398364597, 121.531541859215),  # Shanghai
    (22.543847, 113.912316, 22.540796131694766, 113.9171764808363),  # Shenzhen
    (39.911954, 116.377817, 39.91334545536069, 116.38404722455657),  # Beijing
]

# coordtransform (Rust port tests / hutool): input (lat 39.915, lng 116.404)
COORDTRANSFORM_FORWARD = [
    (wgs84_to_gcj02, (39.91640428150164, 116.41024449916938)),
    (wgs84_to_bd09, (39.922699552216216, 116.41662724378733)),
    (gcj02_to_bd09, (39.92133699351021, 116.41036949371029)),
]
COORDTRANSFORM_INVERSE = [
    (gcj02_to_wgs84, (39.91359571849836, 116.39775550083061)),
    (bd09_to_gcj02, (39.90865673957631, 116.39762729119315)),
    (bd09_to_wgs84, (39.907253214522164, 116.3913836995125)),
]

# Mainland China, kept clear of the rough box's edges where the offset switches off.
china_lat = st.floats(min_value=18.0, max_value=53.0)
china_lng = st.floats(min_value=74.0, max_value=134.5)


@pytest.mark.parametrize(("wlat", "wlng", "glat", "glng"), EVILTRANSFORM_PAIRS)
def test_wgs84_to_gcj02_matches_eviltransform(wlat, wlng, glat, glng):
    assert wgs84_to_gcj02(wlat, wlng) == pytest.approx((glat, glng), abs=1e-9)


@pytest.mark.parametrize(("wlat", "wlng", "glat", "glng"), EVILTRANSFORM_PAIRS)
def test_gcj02_to_wgs84_recovers_eviltransform_points(wlat, wlng, glat, glng):
    assert gcj02_to_wgs84(glat, glng) == pytest.approx((wlat, wlng), abs=1e-8)


@pytest.mark.parametrize(("convert", "expected"), COORDTRANSFORM_FORWARD)
def test_forward_transforms_match_coordtransform(convert, expected):
    assert convert(39.915, 116.404) == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize(("convert", "expected"), COORDTRANSFORM_INVERSE)
def test_inverse_transforms_agree_with_coordtransform(convert, expected):
    assert convert(39.915, 116.404) == pytest.approx(expected, abs=5e-6)


def test_gcoord_reference_points():
    assert gcj02_to_wgs84(45, 123) == pytest.approx((44.99804071, 122.99395597), abs=5e-6)
    assert bd09_to_gcj02(45, 123) == pytest.approx((44.99365430, 122.99363304), abs=5e-6)
    assert bd09_to_wgs84(45, 123) == pytest.approx((44.99171540, 122.98762210), abs=5e-6)


def test_tiananmen_offsets_are_hundreds_of_metres():
    # Tiananmen, WGS-84: GCJ-02 and BD-09 shift it by a few hundred metres, as every map shows.
    lat, lng = 39.908722, 116.397496
    assert 0.3 < haversine_km(lat, lng, *wgs84_to_gcj02(lat, lng)) < 0.8
    assert 0.8 < haversine_km(lat, lng, *wgs84_to_bd09(lat, lng)) < 1.5


@given(china_lat, china_lng)
def test_gcj02_round_trip_is_exact_inside_china(lat, lng):
    back = gcj02_to_wgs84(*wgs84_to_gcj02(lat, lng))
    assert back == pytest.approx((lat, lng), abs=1e-7)


@given(china_lat, china_lng)
def test_bd09_round_trip_is_exact_inside_china(lat, lng):
    back = bd09_to_wgs84(*wgs84_to_bd09(lat, lng))
    assert back == pytest.approx((lat, lng), abs=1e-7)


@given(china_lat, china_lng)
def test_gcj02_bd09_round_trip(lat, lng):
    assert bd09_to_gcj02(*gcj02_to_bd09(lat, lng)) == pytest.approx((lat, lng), abs=1e-7)


@given(china_lat, china_lng, st.sampled_from(["wgs84", "gcj02", "bd09"]))
def test_to_and_from_wgs84_are_inverse(lat, lng, crs):
    assert to_wgs84(*from_wgs84(lat, lng, crs), crs) == pytest.approx((lat, lng), abs=1e-7)


@pytest.mark.parametrize(
    ("lat", "lng"),
    [(51.5007, -0.1246), (40.6892, -74.0445), (35.6586, 139.7454), (-33.8568, 151.2153), (1.2834, 103.8607)],
)
@pytest.mark.parametrize("crs", ["wgs84", "gcj02", "bd09"])
def test_conversions_are_identity_outside_china(lat, lng, crs):
    assert not in_china(lat, lng)
    assert from_wgs84(lat, lng, crs) == (lat, lng)
    assert to_wgs84(lat, lng, crs) == (lat, lng)


def test_unknown_crs_is_rejected():
    with pytest.raises(ValueError):
        to_wgs84(39.9, 116.4, "epsg:3857")


def test_haversine_beijing_shanghai():
    # Beijing – Shanghai city centres are about 1,067 km apart.
    assert haversine_km(39.9042, 116.4074, 31.2304, 121.4737) == pytest.approx(1067, abs=5)
