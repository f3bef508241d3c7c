"""Offline, online (geopy against a fake provider on 127.0.0.1) and reverse geocoding."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.cache import caches
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from geo.choices import CoordinateSystem, GeocodePrecision
from geo.coords import wgs84_to_gcj02
from geo.geocoding import (
    GeocodeResult,
    GeopyGeocoder,
    OfflineGeocoder,
    ReverseGeocoder,
    get_geocoder,
    normalize_query,
    precision_from_raw,
)
from geo.regiondata import DATA_DIR, REGION_FILES, RegionRecord, read_region_records

P = GeocodePrecision


def region(code, level, lat=None, lng=None, parent_code="", **extra):
    return RegionRecord(code=code, parent_code=parent_code, level=level, name=code, lat=lat, lng=lng, **extra)


BEIJING = region("110000", "province", 39.90, 116.40, "CN")
CHAOYANG = region("110105", "district", 39.9219, 116.4436, "110100")


# --- offline -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("level", "precision"),
    [("country", P.COUNTRY), ("province", P.PROVINCE), ("city", P.CITY), ("district", P.DISTRICT)],
)
def test_offline_precision_is_the_regions_level(level, precision):
    result = OfflineGeocoder().geocode("whatever", region_hint=region("X1", level, 10.0, 20.0))
    assert result == GeocodeResult(10.0, 20.0, precision, "offline", region_code="X1", formatted="X1")


def test_offline_estimated_centroid_still_counts_at_its_level():
    estimated = region("220184", "district", 43.81, 125.31, "220100", centroid_estimated=True)
    assert OfflineGeocoder().geocode("公主岭", region_hint=estimated).precision == P.DISTRICT


def test_offline_takes_deepest_located_region_of_a_parsed_address():
    parsed = SimpleNamespace(
        country=region("CN", "country", 35.0, 103.0),
        province=BEIJING,
        city=region("110100", "city", None, None, "110000"),  # no centroid: skipped
        district=None,
    )
    result = OfflineGeocoder().geocode("北京市某路", region_hint=parsed)
    assert (result.region_code, result.precision) == ("110000", P.PROVINCE)


def test_offline_without_any_region_returns_none():
    assert OfflineGeocoder().geocode("somewhere") is None
    assert OfflineGeocoder().geocode("somewhere", region_hint=SimpleNamespace(district=None)) is None


def test_offline_resolver_supplies_the_hint_when_none_is_given():
    geocoder = OfflineGeocoder(resolve=lambda text: CHAOYANG if "朝阳" in text else None)
    assert geocoder.geocode("北京朝阳区").region_code == "110105"
    assert geocoder.geocode_many(["北京朝阳区", ("x", BEIJING), "火星"])[1:] == [
        geocoder.locate_region(BEIJING),
        None,
    ]


@pytest.mark.parametrize(
    ("raw", "precision"),
    [
        ({"class": "place", "type": "house", "addresstype": "place", "place_rank": 30}, P.ROOFTOP),
        ({"class": "building", "type": "yes", "addresstype": "building"}, P.ROOFTOP),
        ({"class": "amenity", "type": "cafe", "addresstype": "amenity"}, P.ROOFTOP),
        ({"class": "highway", "type": "primary", "addresstype": "road"}, P.STREET),
        ({"class": "boundary", "type": "administrative", "addresstype": "city_district"}, P.DISTRICT),
        ({"class": "boundary", "type": "administrative", "addresstype": "city"}, P.CITY),
        ({"class": "boundary", "type": "administrative", "addresstype": "state"}, P.PROVINCE),
        ({"class": "boundary", "type": "administrative", "addresstype": "country"}, P.COUNTRY),
        ({"class": "boundary", "type": "administrative", "place_rank": 8}, P.PROVINCE),
        ({"level": "门牌号", "adcode": "110105"}, P.ROOFTOP),  # AMap
        ({"level": "区县"}, P.DISTRICT),
        ({"level": "市"}, P.CITY),
        ({"level": "道路"}, P.STREET),
        ({"level": "门址", "precise": 1}, P.ROOFTOP),  # Baidu
        ({"level": "城市", "precise": 0}, P.CITY),
        ({"level": "教育", "precise": 1}, P.ROOFTOP),
        ({"level": "教育", "precise": 0}, P.STREET),
        ({"lat": 1, "lon": 2}, P.STREET),  # a bare point
        (None, P.STREET),
    ],
)
def test_precision_from_provider_answer(raw, precision):
    assert precision_from_raw(raw) == precision


def test_query_normalisation_folds_width_case_and_spaces():
    assert normalize_query("  Ｂｅｉｊｉｎｇ   Road\n１号 ") == normalize_query("beijing road 1号")


# --- reverse -------------------------------------------------------------------------------

needs_region_data = pytest.mark.skipif(
    not all((DATA_DIR / name).exists() for name in REGION_FILES),
    reason="geo/data region tables not built yet",
)


@pytest.fixture(scope="module")
def reverse_geocoder():
    return ReverseGeocoder(read_region_records())


@needs_region_data
@pytest.mark.parametrize(
    ("lat", "lng", "district", "city", "province"),
    [
        (39.9219, 116.4436, "110105", "110100", "110000"),  # Beijing Chaoyang, near Tuanjiehu
        (22.5333, 113.9304, "440305", "440300", "440000"),  # Shenzhen Nanshan, Shenzhen University
        (31.2304, 121.4737, "310101", "310100", "310000"),  # Shanghai Huangpu, People's Square
        (30.2590, 120.1300, "330106", "330100", "330000"),  # Hangzhou Xihu
    ],
)
def test_reverse_finds_district_and_ancestors(reverse_geocoder, lat, lng, district, city, province):
    hit = reverse_geocoder.reverse(lat, lng)
    assert (hit.district_code, hit.city_code, hit.province_code, hit.country_code) == (
        district,
        city,
        province,
        "CN",
    )
    assert hit.distance_km < 15


@needs_region_data
def test_reverse_in_a_city_without_districts_answers_the_city(reverse_geocoder):
    hit = reverse_geocoder.reverse(23.0207, 113.7518)  # Dongguan
    assert (hit.region_code, hit.level, hit.district_code) == ("441900", "city", "")


@needs_region_data
def test_reverse_beyond_max_km_is_none(reverse_geocoder):
    # Point Nemo: the nearest centroid (Pitcairn) is some 2,700 km away.
    assert reverse_geocoder.reverse(-48.88, -123.39, max_km=500) is None
    assert reverse_geocoder.reverse(-48.88, -123.39).distance_km > 2000


def test_reverse_index_skips_estimated_centroids_and_parents_of_located_children():
    records = [
        region("CN", "country", 35.0, 103.0),
        region("110000", "province", 39.90, 116.40, "CN"),
        region("110100", "city", 39.90, 116.40, "110000"),
        region("110101", "district", 39.93, 116.42, "110100"),
        region("110105", "district", 39.92, 116.44, "110100"),
        region("110199", "district", 39.90, 116.40, "110100", centroid_estimated=True),
        region("110198", "district", 39.90, 116.40, "110100", is_active=False),
    ]
    geocoder = ReverseGeocoder(records)
    assert len(geocoder) == 2
    hit = geocoder.reverse(39.90, 116.40)
    assert hit.region_code == "110101"
    assert hit.chain == (
        ("country", "CN"),
        ("province", "110000"),
        ("city", "110100"),
        ("district", "110101"),
    )


def test_reverse_is_exact_nearest_across_cells():
    records = [region(f"D{i}", "district", 30 + i * 0.37, 110 + (i % 7) * 0.61) for i in range(40)]
    geocoder = ReverseGeocoder(records, cell_degrees=0.25)
    for lat, lng in [(31.0, 111.0), (35.5, 113.9), (20.0, 100.0), (44.0, 120.0)]:
        expected = min(records, key=lambda r: (r.lat - lat) ** 2 + ((r.lng - lng) * 0.85) ** 2)
        assert geocoder.reverse(lat, lng).region_code == expected.code


def test_reverse_with_no_data_is_none():
    assert ReverseGeocoder([]).reverse(39.9, 116.4) is None


# --- online, against a fake provider on 127.0.0.1 ------------------------------------------


class FakeProvider:
    """A scripted HTTP geocoding service: `answers[path] = (status, json body, delay seconds)`."""

    def __init__(self):
        self.answers = {}
        self.hits = []
        self.release = threading.Event()
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                url = urlsplit(self.path)
                provider.hits.append((url.path, parse_qs(url.query)))
                status, body, delay = provider.answers.get(url.path, (404, {"error": "no route"}, 0))
                if delay:
                    provider.release.wait(delay)
                payload = json.dumps(body, ensure_ascii=False).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json; charset=utf-8")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.domain = f"127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)

    def queries(self, path):
        return [q for p, q in self.hits if p == path]


@pytest.fixture
def fake_provider():
    provider = FakeProvider()
    provider.thread.start()
    caches["default"].clear()
    yield provider
    provider.release.set()
    provider.server.shutdown()
    provider.server.server_close()


def nominatim(fake_provider, **overrides):
    options = {
        "domain": fake_provider.domain,
        "scheme": "http",
        "user_agent": "dizhi-tests",
        "rate_limit_per_second": 1000,
        "timeout": 2.0,
        "retries": 0,
        "error_wait_seconds": 0,
    }
    return GeopyGeocoder("nominatim", **{**options, **overrides})


def nominatim_place(lat, lng, **raw):
    return {
        "place_id": 1,
        "lat": str(lat),
        "lon": str(lng),
        "display_name": "1, 团结湖路, 朝阳区, 北京市, 中国",
        "class": "place",
        "type": "house",
        "addresstype": "place",
        "place_rank": 30,
        **raw,
    }


def test_nominatim_answer_becomes_a_rooftop_result(fake_provider):
    fake_provider.answers["/search"] = (200, [nominatim_place(39.9219, 116.4436)], 0)
    result = nominatim(fake_provider).geocode("北京市朝阳区团结湖路1号", region_hint=CHAOYANG)
    assert result == GeocodeResult(
        39.9219, 116.4436, P.ROOFTOP, "nominatim", formatted="1, 团结湖路, 朝阳区, 北京市, 中国"
    )
    assert fake_provider.queries("/search")[0]["q"] == ["北京市朝阳区团结湖路1号"]


def test_results_are_cached_by_normalised_query(fake_provider):
    fake_provider.answers["/search"] = (200, [nominatim_place(39.9219, 116.4436)], 0)
    geocoder = nominatim(fake_provider)
    first = geocoder.geocode("Tuanjiehu Road 1, Beijing")
    assert geocoder.geocode("  tuanjiehu road 1,   BEIJING ") == first
    assert nominatim(fake_provider).geocode("Tuanjiehu Road 1, Beijing") == first  # shared Django cache
    assert len(fake_provider.hits) == 1


def test_geocode_many_asks_once_per_distinct_query(fake_provider):
    fake_provider.answers["/search"] = (200, [nominatim_place(39.9219, 116.4436)], 0)
    results = nominatim(fake_provider).geocode_many(["a street", ("A  Street", CHAOYANG), "b street", ""])
    assert [r.source if r else None for r in results] == ["nominatim", "nominatim", "nominatim", None]
    assert len(fake_provider.hits) == 2


def test_no_match_falls_back_to_offline_and_is_cached(fake_provider):
    fake_provider.answers["/search"] = (200, [], 0)
    geocoder = nominatim(fake_provider)
    result = geocoder.geocode("北京朝阳区不存在路", region_hint=CHAOYANG)
    assert (result.lat, result.lng, result.precision) == (CHAOYANG.lat, CHAOYANG.lng, P.DISTRICT)
    assert result.source == "offline (fallback: no match)"
    geocoder.geocode("北京朝阳区不存在路", region_hint=CHAOYANG)
    assert len(fake_provider.hits) == 1


def test_server_error_falls_back_to_offline_after_retries(fake_provider):
    fake_provider.answers["/search"] = (500, {"error": "boom"}, 0)
    result = nominatim(fake_provider, retries=2).geocode("朝阳区某路", region_hint=CHAOYANG)
    assert result.source == "offline (fallback: error)"
    assert (result.precision, result.region_code) == (P.DISTRICT, "110105")
    assert len(fake_provider.hits) == 3  # first try + 2 retries


def test_errors_are_not_cached(fake_provider):
    geocoder = nominatim(fake_provider)
    fake_provider.answers["/search"] = (500, {"error": "boom"}, 0)
    assert geocoder.geocode("朝阳区某路", region_hint=CHAOYANG).source.startswith("offline")
    fake_provider.answers["/search"] = (200, [nominatim_place(39.9219, 116.4436)], 0)
    assert geocoder.geocode("朝阳区某路", region_hint=CHAOYANG).source == "nominatim"


def test_timeout_falls_back_to_offline(fake_provider):
    fake_provider.answers["/search"] = (200, [nominatim_place(39.9, 116.4)], 5)
    result = nominatim(fake_provider, timeout=0.3).geocode("慢慢来", region_hint=CHAOYANG)
    assert result.source == "offline (fallback: timeout)"
    assert result.precision == P.DISTRICT


def test_quota_falls_back_without_retrying_and_pauses_the_provider(fake_provider):
    fake_provider.answers["/search"] = (429, {"error": "Too Many Requests"}, 0)
    geocoder = nominatim(fake_provider, retries=3)
    assert geocoder.geocode("一号", region_hint=CHAOYANG).source == "offline (fallback: quota)"
    assert len(fake_provider.hits) == 1
    fake_provider.answers["/search"] = (200, [nominatim_place(39.9, 116.4)], 0)
    assert geocoder.geocode("二号", region_hint=BEIJING).source == "offline (fallback: quota)"
    assert len(fake_provider.hits) == 1  # paused: the provider is left alone for a while


def test_failure_without_any_region_is_none(fake_provider):
    fake_provider.answers["/search"] = (500, {"error": "boom"}, 0)
    assert nominatim(fake_provider).geocode("no idea") is None


def test_coarser_online_answer_does_not_beat_a_known_district(fake_provider):
    country = nominatim_place(35.0, 103.0, **{"class": "boundary", "type": "administrative"})
    fake_provider.answers["/search"] = (200, [{**country, "addresstype": "country", "place_rank": 4}], 0)
    result = nominatim(fake_provider).geocode("中国 朝阳区 某某", region_hint=CHAOYANG)
    assert (result.source, result.precision, result.region_code) == ("offline", P.DISTRICT, "110105")


def amap(fake_provider, **overrides):
    options = {"api_key": "test-key", "domain": fake_provider.domain, "scheme": "http", "retries": 0}
    return GeopyGeocoder("amap", rate_limit_per_second=1000, error_wait_seconds=0, **{**options, **overrides})


def test_gcj02_provider_answer_is_converted_to_wgs84(fake_provider):
    wgs = (39.990464, 116.481488)  # 北京市朝阳区阜通东大街6号, WGS-84
    glat, glng = wgs84_to_gcj02(*wgs)
    place = {
        "formatted_address": "北京市朝阳区阜通东大街6号",
        "province": "北京市",
        "city": "北京市",
        "district": "朝阳区",
        "street": [],
        "adcode": "110105",
        "location": f"{glng:.6f},{glat:.6f}",
        "level": "门牌号",
    }
    fake_provider.answers["/v3/geocode/geo"] = (200, {"status": "1", "info": "OK", "geocodes": [place]}, 0)
    geocoder = amap(fake_provider)
    assert geocoder.crs == CoordinateSystem.GCJ02
    result = geocoder.geocode("北京市朝阳区阜通东大街6号")
    assert result.lat == pytest.approx(wgs[0], abs=1e-6)
    assert result.lng == pytest.approx(wgs[1], abs=1e-6)
    assert (result.precision, result.source, result.region_code) == (P.ROOFTOP, "amap", "110105")
    assert fake_provider.queries("/v3/geocode/geo")[0]["key"] == ["test-key"]


def test_amap_quota_code_falls_back_to_offline(fake_provider):
    body = {"status": "0", "info": "DAILY_QUERY_OVER_LIMIT", "infocode": "10003"}
    fake_provider.answers["/v3/geocode/geo"] = (200, body, 0)
    result = amap(fake_provider, retries=2).geocode("阜通东大街6号", region_hint=CHAOYANG)
    assert result.source == "offline (fallback: quota)"
    assert len(fake_provider.hits) == 1


def test_amap_bad_key_falls_back_to_offline(fake_provider):
    body = {"status": "0", "info": "INVALID_USER_KEY", "infocode": "10001"}
    fake_provider.answers["/v3/geocode/geo"] = (200, body, 0)
    assert amap(fake_provider).geocode("x", region_hint=BEIJING).source == "offline (fallback: auth)"


# --- configuration -------------------------------------------------------------------------


def geocoder_settings(**overrides):
    base = {
        "PROVIDER": "",
        "API_KEY": "",
        "DOMAIN": "",
        "SCHEME": "https",
        "USER_AGENT": "dizhi-tests",
        "RATE_LIMIT_PER_SECOND": 1.0,
        "TIMEOUT": 5.0,
        "RETRIES": 2,
        "CACHE_TIMEOUT": 60,
        "CRS": "wgs84",
    }
    return override_settings(GEOCODER={**base, **overrides})


def test_get_geocoder_is_offline_without_provider():
    with geocoder_settings():
        assert isinstance(get_geocoder(), OfflineGeocoder)


def test_get_geocoder_builds_the_configured_provider_once():
    with geocoder_settings(PROVIDER="nominatim", DOMAIN="127.0.0.1:9"):
        geocoder = get_geocoder()
        assert isinstance(geocoder, GeopyGeocoder)
        assert (geocoder.provider, geocoder.crs) == ("nominatim", CoordinateSystem.WGS84)
        assert get_geocoder() is geocoder


@pytest.mark.parametrize(
    ("provider", "crs", "expected"),
    [
        ("baiduv3", "wgs84", CoordinateSystem.BD09),  # Baidu answers BD-09 whatever the default says
        ("amap", "wgs84", CoordinateSystem.GCJ02),
        ("nominatim", "gcj02", CoordinateSystem.GCJ02),  # a declared CRS is honoured
    ],
)
def test_get_geocoder_declares_the_providers_crs(provider, crs, expected):
    with geocoder_settings(PROVIDER=provider, API_KEY="k", CRS=crs):
        assert get_geocoder().crs == expected


def test_get_geocoder_rejects_unknown_provider():
    with geocoder_settings(PROVIDER="no-such-geocoder"), pytest.raises(ImproperlyConfigured):
        get_geocoder()
