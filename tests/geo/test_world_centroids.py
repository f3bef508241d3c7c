"""Offline centroids of the world's countries and first-level subdivisions.

The expected places below are written independently of the data under test
(bounding boxes and city coordinates from an atlas), so a bad join, swapped
lat/lng or a polygon centroid in the sea shows up as a failure.
"""

import math
from io import StringIO

import pytest
from django.core.management import call_command

from addresses.services import address_create
from geo.choices import GeocodePrecision
from geo.geocoding import offline_result
from geo.models import Region
from geo.regiondata import read_region_records

# (lng_min, lat_min, lng_max, lat_max): the main territory, not the whole country.
COUNTRY_BOX = {
    "US": (-125.0, 24.5, -66.9, 49.4),  # contiguous United States
    "FR": (-4.8, 42.3, 8.3, 51.1),  # metropolitan France
    "GB": (-8.2, 49.9, 1.8, 58.7),
    "DE": (5.9, 47.3, 15.0, 55.1),
    "JP": (129.0, 31.0, 146.0, 45.5),
    "SG": (103.6, 1.2, 104.1, 1.5),
    "RU": (27.0, 41.0, 180.0, 78.0),
    "NO": (4.5, 57.9, 31.1, 71.2),  # mainland, not Svalbard
    "CL": (-75.7, -56.0, -66.4, -17.5),
    "IT": (6.6, 36.6, 18.5, 47.1),
    "ES": (-9.3, 36.0, 3.3, 43.8),
    "CA": (-141.0, 41.7, -52.6, 83.1),
    "AU": (113.0, -39.2, 153.7, -10.6),
    "BR": (-74.0, -33.8, -34.8, 5.3),
    "IN": (68.1, 6.7, 97.4, 35.5),
    "ID": (95.0, -11.0, 141.0, 6.0),
    "MX": (-117.1, 14.5, -86.7, 32.7),
    "NL": (3.3, 50.7, 7.2, 53.6),  # European Netherlands, not the Caribbean
    "DK": (8.0, 54.5, 12.7, 57.8),  # Denmark proper, not Greenland
    "KR": (125.0, 33.1, 129.6, 38.7),
    "ZA": (16.4, -34.9, 32.9, -22.1),
    "NZ": (166.4, -47.3, 178.6, -34.4),
}
SUBDIVISION_BOX = {
    "US-CA": (-124.5, 32.5, -114.1, 42.0),
    "US-NY": (-79.8, 40.5, -71.8, 45.0),
    "US-HI": (-160.3, 18.9, -154.8, 22.3),
    "GB-ENG": (-5.8, 49.9, 1.8, 55.8),
    "GB-SCT": (-7.7, 54.6, -0.7, 60.9),
    "DE-BE": (13.08, 52.33, 13.77, 52.68),
    "DE-BY": (8.97, 47.27, 13.84, 50.57),
    "JP-13": (138.9, 35.5, 139.95, 35.9),  # Tokyo's mainland part, not its islands
    "FR-IDF": (1.4, 48.1, 3.6, 49.3),
    "FR-973": (-54.6, 2.1, -51.6, 5.8),  # French Guiana
    "ES-MD": (-4.6, 39.9, -3.0, 41.2),
    "IT-25": (8.5, 44.7, 11.4, 46.7),
    "CA-ON": (-95.2, 41.7, -74.3, 56.9),
    "AU-NSW": (141.0, -37.5, 153.7, -28.2),
    "IN-MH": (72.6, 15.6, 80.9, 22.1),
}

# text, country, subdivision (None: the country has none in the text), (lat, lng) of the place
ADDRESSES = [
    ("1600 Amphitheatre Pkwy, Mountain View, CA 94043, USA", "US", "US-CA", (37.422, -122.084)),
    ("10 Downing Street, London SW1A 2AA, United Kingdom", "GB", "GB-ENG", (51.503, -0.128)),
    ("Unter den Linden 77, 10117 Berlin, Deutschland", "DE", "DE-BE", (52.516, 13.381)),
    ("1-1 Marunouchi, Chiyoda-ku, Tokyo 100-0005, Japan", "JP", "JP-13", (35.681, 139.767)),
    ("1 Raffles Place, Singapore 048616", "SG", None, (1.284, 103.851)),
    ("350 Fifth Avenue, New York, NY 10118", "US", "US-NY", (40.748, -73.986)),
]


def km(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lng1, lat2, lng2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lng2 - lng1) / 2) ** 2
    return 6371.0 * 2 * math.asin(math.sqrt(h))


def in_box(record, box) -> bool:
    lng_min, lat_min, lng_max, lat_max = box
    return lng_min <= record.lng <= lng_max and lat_min <= record.lat <= lat_max


@pytest.fixture(scope="module")
def world():
    return {r.code: r for r in read_region_records(("regions_world.csv",))}


def test_every_country_has_a_measured_centroid(world):
    countries = [r for r in world.values() if r.level == "country" and r.is_active]
    assert len(countries) == 246  # ISO's 249 less HK, MO and TW, which are provinces of CN
    for r in countries:
        assert r.lat is not None and r.lng is not None, r.code
        assert -90 <= r.lat <= 90 and -180 <= r.lng <= 180, r.code
        assert not r.centroid_estimated, r.code
        assert r.centroid_source.startswith("natural-earth"), r.code


@pytest.mark.parametrize("code, box", sorted(COUNTRY_BOX.items()))
def test_country_centroid_lies_in_its_main_territory(world, code, box):
    assert in_box(world[code], box), (code, world[code].lat, world[code].lng)


@pytest.mark.parametrize("code, box", sorted(SUBDIVISION_BOX.items()))
def test_subdivision_centroid_lies_in_the_subdivision(world, code, box):
    r = world[code]
    assert not r.centroid_estimated
    assert in_box(r, box), (code, r.lat, r.lng)


def test_subdivisions_are_located_or_marked_estimated_at_their_country(world):
    subdivisions = [r for r in world.values() if r.level == "province"]
    assert len(subdivisions) > 3500
    measured = [r for r in subdivisions if not r.centroid_estimated]
    assert len(measured) >= 3200  # most of them come from Natural Earth
    for r in subdivisions:
        assert r.lat is not None and r.lng is not None, r.code
        assert r.centroid_source, r.code
        if r.centroid_source == "country":
            country = world[r.parent_code]
            assert r.centroid_estimated
            assert (r.lat, r.lng) == (country.lat, country.lng)
        else:
            assert r.centroid_source.startswith("natural-earth"), r.code


def test_every_us_state_is_measured(world):
    states = [r for r in world.values() if r.parent_code == "US" and r.code != "US-UM"]
    assert len(states) >= 56
    assert all(not r.centroid_estimated for r in states)


def test_offline_geocoder_places_a_subdivision_at_its_centroid(world):
    result = offline_result(world["US-CA"])
    assert result.precision == GeocodePrecision.PROVINCE
    assert km((result.lat, result.lng), (36.78, -119.42)) < 150  # the middle of California
    assert offline_result(world["SG"]).precision == GeocodePrecision.COUNTRY


@pytest.mark.django_db
def test_load_regions_carries_the_world_centroids():
    ca = Region.objects.get(code="US-CA")
    assert ca.lat is not None and ca.centroid_source == "natural-earth-admin1"
    assert not ca.centroid_estimated
    out = StringIO()
    call_command("load_regions", stdout=out)
    assert "Nothing changed" in out.getvalue()


@pytest.mark.django_db
@pytest.mark.parametrize("text, country, subdivision, place", ADDRESSES)
def test_pasted_foreign_address_is_located(make_customer, text, country, subdivision, place):
    address = address_create(customer=make_customer(), raw_text=text)
    assert address.country.code == country
    if subdivision is None:
        assert address.precision == GeocodePrecision.COUNTRY
    else:
        assert address.province.code == subdivision
        assert address.precision == GeocodePrecision.PROVINCE
    assert address.lat is not None and address.lng is not None
    assert address.geocode_source
    # A subdivision's centroid: within a few hundred km of the real place
    # (California's middle is ~300 km from Mountain View).
    assert km((float(address.lat), float(address.lng)), place) < 400
