"""Map endpoints: scoping, filters, clusters and points, heat, regions, nearby, selection, routes."""

import csv
import io
import json

import pytest
from django.core.cache import cache
from django.test import Client

from addresses.services import address_create

pytestmark = pytest.mark.django_db
CHINA = "73,18,135,54"


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()


@pytest.fixture
def places(make_customer, sales, other_sales, category):
    """Three of sales1's customers in Beijing, one of sales2's in Shenzhen."""
    out = {}
    for name, lat, lng, owner, cats in (
        ("北京甲", 39.9100, 116.4000, sales, [category.pk]),
        ("北京乙", 39.9200, 116.4100, sales, []),
        ("<img src=x onerror=alert(1)>", 39.9500, 116.4500, sales, []),
        ("深圳丙", 22.5300, 113.9300, other_sales, []),
    ):
        c = make_customer(name, owner=owner)
        district = "110101" if lat > 30 else "440305"
        out[name] = (
            c,
            address_create(customer=c, district_code=district, lat=lat, lng=lng, category_ids=cats),
        )
    return out


def _get(client, url, **params):
    r = client.get(url, params)
    assert r.status_code == 200, r.content
    return r.json()


def test_anonymous_users_are_sent_to_login(client):
    assert client.get("/map/").status_code == 302
    assert client.get("/map/clusters/", {"bbox": CHINA, "zoom": 4}).status_code == 302


def test_map_page_links_to_the_list_with_the_same_filters(client, sales):
    client.force_login(sales)
    r = client.get("/map/", {"stage": "existing", "q": "北京", "bbox": "1,2,3,4"})
    assert r.status_code == 200
    html = r.content.decode()
    assert 'href="/customers/?stage=existing&amp;q=%E5%8C%97%E4%BA%AC"' in html  # bbox is the map's own
    assert "dz-map-config" in html


def test_sales_user_sees_only_their_customers_on_the_map(client, places, sales, other_sales):
    client.force_login(sales)
    data = _get(client, "/map/clusters/", bbox=CHINA, zoom=4)
    assert data["total"] == 3
    client.force_login(other_sales)
    data = _get(client, "/map/clusters/", bbox=CHINA, zoom=4)
    assert data["total"] == 1


def test_manager_unfiltered_uses_all_addresses_and_filters_narrow_them(client, places, manager, category):
    client.force_login(manager)
    assert _get(client, "/map/clusters/", bbox=CHINA, zoom=4)["total"] == 4
    assert _get(client, "/map/clusters/", bbox=CHINA, zoom=4, category=category.pk)["total"] == 1
    assert _get(client, "/map/clusters/", bbox=CHINA, zoom=12, q="深圳")["total"] == 1


def test_zoomed_in_customers_come_as_points_with_their_details(client, places, sales, category):
    client.force_login(sales)
    data = _get(client, "/map/clusters/", bbox="116.3,39.85,116.5,39.98", zoom=17)
    names = {p["name"] for p in data["points"]}
    assert names == {"北京甲", "北京乙", "<img src=x onerror=alert(1)>"}
    first = next(p for p in data["points"] if p["name"] == "北京甲")
    assert first["categories"] == [category.pk]
    assert "北京" in first["address"] or "东城" in first["address"]


def test_country_zoom_gives_clusters_and_singletons(client, places, manager):
    client.force_login(manager)
    data = _get(client, "/map/clusters/", bbox=CHINA, zoom=3)
    assert sum(c[2] for c in data["clusters"]) + len(data["points"]) == 4
    assert any(c[2] == 3 for c in data["clusters"])  # Beijing's three
    assert [p["name"] for p in data["points"]] == ["深圳丙"]


def test_bad_bbox_is_rejected(client, sales):
    client.force_login(sales)
    assert client.get("/map/clusters/", {"bbox": "x", "zoom": 4}).status_code == 400


def test_heat_and_region_layers(client, places, manager):
    client.force_login(manager)
    heat = _get(client, "/map/clusters/", bbox=CHINA, zoom=4, layer="heat")
    assert heat["max"] >= 1 and sum(c[2] for c in heat["cells"]) == 4
    regions = _get(client, "/map/clusters/", bbox=CHINA, zoom=4, layer="regions")
    assert regions["level"] == "province"
    counts = {r[0]: r[4] for r in regions["regions"]}
    assert counts == {"110000": 3, "440000": 1}
    district = _get(client, "/map/clusters/", bbox=CHINA, zoom=10, layer="regions", stage="potential")
    assert district["level"] == "district" and sum(r[4] for r in district["regions"]) == 4


def test_nearby_customers_are_sorted_by_distance(client, places, sales):
    client.force_login(sales)
    origin = places["北京甲"][0]
    data = _get(client, "/map/nearby/", near=origin.pk, radius=10)
    kms = [p["km"] for p in data["results"]]
    assert kms == sorted(kms) and len(kms) == 2
    assert data["results"][0]["name"] == "北京乙"
    point = _get(client, "/map/nearby/", lat=39.91, lng=116.40, radius=0.5)
    assert [p["name"] for p in point["results"]] == ["北京甲"]


def test_nearby_of_an_invisible_customer_is_404(client, places, sales):
    client.force_login(sales)
    assert client.get("/map/nearby/", {"near": places["深圳丙"][0].pk}).status_code == 404


def test_drawn_polygon_selects_the_customers_inside(client, places, sales):
    client.force_login(sales)
    triangle = [[39.90, 116.39], [39.95, 116.39], [39.90, 116.44]]
    r = client.post("/map/select/", json.dumps({"polygon": triangle}), content_type="application/json")
    data = r.json()
    assert {p["name"] for p in data["results"]} == {"北京甲", "北京乙"}
    assert data["customers"] == sorted([places["北京甲"][0].pk, places["北京乙"][0].pk])


def test_posts_need_csrf(places, sales):
    client = Client(enforce_csrf_checks=True)
    client.force_login(sales)
    r = client.post(
        "/map/select/", json.dumps({"polygon": [[0, 0], [1, 1], [1, 0]]}), content_type="application/json"
    )
    assert r.status_code == 403


def test_route_orders_the_stops_and_gives_navigation_links(client, places, sales):
    client.force_login(sales)
    ids = [places[n][1].pk for n in ("<img src=x onerror=alert(1)>", "北京甲", "北京乙")]
    body = {"start": [39.90, 116.39], "stops": ids}
    data = client.post("/map/route/", json.dumps(body), content_type="application/json").json()
    assert [s["name"] for s in data["stops"]] == ["北京甲", "北京乙", "<img src=x onerror=alert(1)>"]
    assert data["total_m"] == sum(s["leg_m"] for s in data["stops"])
    assert (
        "uri.amap.com/navigation" in data["stops"][0]["amap"]
        and "coord_type=bd09ll" in data["stops"][0]["baidu"]
    )
    pinned = {**body, "first": ids[0], "last": ids[1]}
    data = client.post("/map/route/", json.dumps(pinned), content_type="application/json").json()
    assert [s["id"] for s in data["stops"]] == [ids[0], ids[2], ids[1]]
    kept = {**body, "optimize": False}
    data = client.post("/map/route/", json.dumps(kept), content_type="application/json").json()
    assert [s["id"] for s in data["stops"]] == ids


def test_route_refuses_addresses_the_user_cannot_see(client, places, sales):
    client.force_login(sales)
    body = {"start": [39.9, 116.4], "stops": [places["深圳丙"][1].pk]}
    assert client.post("/map/route/", json.dumps(body), content_type="application/json").status_code == 404


def test_route_csv_keeps_the_order_and_neutralises_formulas(client, make_customer, sales):
    client.force_login(sales)
    a = address_create(
        customer=make_customer("=HYPERLINK(1)", owner=sales), district_code="110101", lat=39.91, lng=116.4
    )
    b = address_create(
        customer=make_customer("乙方", owner=sales), district_code="110101", lat=39.95, lng=116.4
    )
    r = client.get("/map/route.csv", {"start": "39.9,116.4", "stops": f"{b.pk},{a.pk}"})
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert [row[1] for row in rows[1:]] == ["乙方", "'=HYPERLINK(1)"]
    assert rows[1][0] == "1" and rows[2][0] == "2"


@pytest.mark.parametrize(
    ("lat", "lng", "language", "chain", "label"),
    [
        (22.5333, 113.9304, "zh-hans", ["CN", "440000", "440300", "440305"], "广东省 › 深圳市 › 南山区"),
        (
            22.5333,
            113.9304,
            "en",
            ["CN", "440000", "440300", "440305"],
            "Guangdong › Shenzhen › Nanshan District",
        ),
        (
            23.0207,
            113.7518,
            "zh-hans",
            ["CN", "440000", "441900"],
            "广东省 › 东莞市",
        ),  # a city without districts
    ],
)
def test_what_is_here_names_the_region_at_a_point(client, sales, lat, lng, language, chain, label):
    client.force_login(sales)
    data = client.get("/map/here/", {"lat": lat, "lng": lng}, headers={"accept-language": language}).json()
    assert [c["code"] for c in data["chain"]][: len(chain)] == chain
    assert data["label"].startswith(label)
    assert data["approximate"] == (data["method"] == "centroid")


def test_what_is_here_far_out_at_sea_is_approximate_and_bad_points_are_400(client, sales):
    client.force_login(sales)
    sea = client.get("/map/here/", {"lat": 15.0, "lng": 140.0}).json()
    assert sea["approximate"] and sea["distance_km"] > 100
    for bad in ({"lat": "x", "lng": "1"}, {"lat": "91", "lng": "0"}, {"lat": "1e308", "lng": "1e308"}, {}):
        assert client.get("/map/here/", bad).status_code == 400
    client.logout()
    assert client.get("/map/here/", {"lat": 22.5, "lng": 113.9}).status_code == 302
