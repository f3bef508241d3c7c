"""The map in headless Chromium: clusters, filters, zoom, XSS-safe popups, layers, outlines,
nearby, drawn selection and a 10-stop route. Any console error fails the test."""

import os
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import expect

from addresses.services import address_create

pytestmark = pytest.mark.browser
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
XSS = "<img src=x onerror=alert(1)>"
SHOTS = os.environ.get("MAP_SCREENSHOTS", "/tmp")


@pytest.fixture
def map_page(browser, live_server, base_data, settings):
    settings.MAP_TILES = "none"
    context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN")
    context.set_default_timeout(10_000)
    errors = []
    page = context.new_page()
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("dialog", lambda d: errors.append("dialog: " + d.message))  # an alert() would mean XSS
    yield page
    context.close()
    assert not errors, errors


def _login(page, live_server, user):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill('input[name="username"]', user.username)
    page.fill('input[name="password"]', "pw-" + user.username)
    page.locator('form button[type="submit"]').last.click()
    page.wait_for_load_state()


def _ready(page):
    page.wait_for_selector('#dz-map-status[data-state="ready"]')
    return int(page.get_attribute("#dz-map-status", "data-total"))


def _clusters_loaded(zoom_matches):
    """For `page.expect_response`: the map's cluster request for a zoom level that matches.

    Its status says "loading" from the moment that request leaves, so `_ready` then waits for
    that load, not an earlier one."""

    def matches(response):
        query = parse_qs(urlparse(response.url).query)
        return "zoom" in query and "layer" not in query and zoom_matches(int(query["zoom"][0]))

    return matches


def _wait_total(page, predicate):
    page.wait_for_function(
        f"() => {{ const s = document.querySelector('#dz-map-status'); "
        f"return s.dataset.state === 'ready' && ({predicate})(Number(s.dataset.total)); }}"
    )
    return int(page.get_attribute("#dz-map-status", "data-total"))


@pytest.fixture
def customers(make_customer, make_user, category):
    user = make_user("mapper")
    rows = [("北京客户一", 39.91, 116.40, [category.pk], "110101"), ("北京客户二", 39.93, 116.42, [], "110101"),
            (XSS, 39.95, 116.45, [], "110101"), ("上海客户", 31.23, 121.47, [], "310101"),
            ("深圳客户", 22.54, 114.05, [category.pk], "440304")]  # fmt: skip
    made = {}
    for name, lat, lng, cats, district in rows:  # each point in its own district (the write path checks)
        c = make_customer(name, owner=user)
        made[name] = address_create(customer=c, district_code=district, lat=lat, lng=lng, category_ids=cats)
    return user, made


def test_map_draws_clusters_filters_zooms_and_shows_names_as_text(map_page, live_server, customers, category):
    page, (user, _made) = map_page, customers
    _login(page, live_server, user)
    outline_requests = []
    page.on("request", lambda r: outline_requests.append(r.url) if "/geo/" in r.url else None)
    page.goto(f"{live_server.url}/map/")
    assert _ready(page) == 5
    page.wait_for_function("() => Number(document.querySelector('#dz-map').dataset.outlines) > 100")
    # The outlines come through the shared map base: each file once, no '/static/geo//' paths.
    assert sorted(u.rsplit("/", 1)[1] for u in outline_requests) == [
        "china-provinces.geojson",
        "world-countries.geojson",
    ]
    assert not [u for u in outline_requests if "//" in u.split("://", 1)[1]]
    page.screenshot(path=f"{SHOTS}/map-overview.png")

    # A filter (same parameter as the list) changes the clusters, and the list link follows.
    page.locator(f'label[for="dz-cat-{category.pk}"]').click()
    assert _wait_total(page, "n => n === 2") == 2
    assert f"category={category.pk}" in page.get_attribute("#dz-to-list", "href")
    page.locator(f'label[for="dz-cat-{category.pk}"]').click()
    _wait_total(page, "n => n === 5")

    # Clicking a cluster zooms in.
    zoom = page.evaluate("dzMap.map.getZoom()")
    with page.expect_response(_clusters_loaded(lambda z: z > zoom)):
        page.locator(".dz-cluster").first.click()
    page.wait_for_function(f"() => dzMap.map.getZoom() > {zoom}")
    _ready(page)

    # Zoomed in on Beijing, the hostile name appears as text in its popup.
    with page.expect_response(_clusters_loaded(lambda z: z == 17)):
        page.evaluate("void dzMap.map.setView(dzMap.toDisplay(39.95, 116.45), 17, {animate: false})")
    page.wait_for_function("() => Number(document.querySelector('#dz-map-status').dataset.points) >= 1")
    _ready(page)
    xy = page.evaluate(
        "(() => { const p = dzMap.map.latLngToContainerPoint(dzMap.toDisplay(39.95, 116.45)); return [p.x, p.y]; })()"
    )
    box = page.locator("#dz-map").bounding_box()
    page.mouse.move(box["x"] + xy[0], box["y"] + xy[1])  # hover first, as a person does
    page.mouse.click(box["x"] + xy[0], box["y"] + xy[1])
    name = page.locator(".leaflet-popup .dz-popup-name")
    name.wait_for()
    assert name.text_content() == XSS
    assert page.locator(".leaflet-popup img").count() == 0
    page.screenshot(path=f"{SHOTS}/map-popup.png")


def test_heat_and_region_layers_toggle(map_page, live_server, customers):
    page, (user, _made) = map_page, customers
    _login(page, live_server, user)
    page.goto(f"{live_server.url}/map/")
    _ready(page)
    page.locator('label[for="dz-layer-heat"]').click()
    page.wait_for_function("() => Number(document.querySelector('#dz-map').dataset.heat) > 0")
    page.locator('label[for="dz-layer-regions"]').click()
    page.wait_for_function(
        "() => (document.querySelector('#dz-map').dataset.regions || '').startsWith('province:')"
    )
    assert page.locator("#dz-legend").is_visible()
    page.screenshot(path=f"{SHOTS}/map-layers.png")
    page.locator('label[for="dz-layer-heat"]').click()
    page.locator('label[for="dz-layer-regions"]').click()
    page.wait_for_function(
        "() => !document.querySelector('#dz-map').dataset.regions && !document.querySelector('#dz-map').dataset.heat"
    )
    assert not page.locator("#dz-legend").is_visible()


def test_nearby_list_is_sorted_and_a_drawn_polygon_selects_customers(map_page, live_server, customers):
    page, (user, made) = map_page, customers
    _login(page, live_server, user)
    origin = made["北京客户一"].customer_id
    page.goto(f"{live_server.url}/map/?near={origin}&radius=20")
    page.wait_for_selector("#dz-nearby-list li")
    kms = [
        float(v) for v in page.eval_on_selector_all("#dz-nearby-list li", "els => els.map(e => e.dataset.km)")
    ]
    assert kms == sorted(kms) and len(kms) == 2
    assert page.locator("#dz-nearby-list li").first.locator(".dz-result-name").text_content() == "北京客户二"
    page.screenshot(path=f"{SHOTS}/map-nearby.png")

    # Draw a polygon with leaflet-draw around the first two Beijing customers only.
    page.evaluate("void dzMap.map.setView(dzMap.toDisplay(39.93, 116.42), 12, {animate: false})")
    _ready(page)
    page.locator("#dz-tab-selection").click()
    page.locator(".leaflet-draw-draw-polygon").click()
    box = page.locator("#dz-map").bounding_box()
    corners = [(39.90, 116.38), (39.94, 116.38), (39.94, 116.43), (39.90, 116.43)]
    for i, (lat, lng) in enumerate([*corners, corners[0]]):
        xy = page.evaluate(
            f"(() => {{ const p = dzMap.map.latLngToContainerPoint(dzMap.toDisplay({lat}, {lng})); return [p.x, p.y]; }})()"
        )
        page.mouse.click(box["x"] + xy[0], box["y"] + xy[1])
        if i < len(corners):
            page.locator("#dz-map .leaflet-editing-icon").nth(i).wait_for()  # the vertex is placed
            # Leaflet.draw takes no vertex within 50 ms of the last one (its double-click guard):
            # a person's clicks are further apart, and nothing on the page says when it is over.
            page.wait_for_timeout(60)
    page.wait_for_selector("#dz-selection-list li")
    names = sorted(
        page.eval_on_selector_all("#dz-selection-list .dz-result-name", "els => els.map(e => e.textContent)")
    )
    assert names == ["北京客户一", "北京客户二"]
    assert page.locator("#dz-selection-export").get_attribute("href").startswith("/imports/export/?ids=")
    page.screenshot(path=f"{SHOTS}/map-selection.png")


def test_route_of_ten_stops_is_drawn_in_order(map_page, live_server, make_customer, make_user):
    page = map_page
    user = make_user("router")
    # Ten stops along a line east of the start, given shuffled: the best order is west to east.
    offsets = [7, 2, 9, 4, 1, 10, 5, 3, 8, 6]
    ids = {}
    for d in offsets:
        c = make_customer(f"站点{d:02d}", owner=user)
        ids[d] = address_create(customer=c, district_code="310101", lat=31.20, lng=121.40 + d * 0.01).pk
    _login(page, live_server, user)
    page.goto(f"{live_server.url}/map/")
    _ready(page)
    page.evaluate(
        "ids => { dzMap.setStart(31.20, 121.40); dzMap.addStops(ids.map(id => ({id: id, name: '', address: '', lat: 0, lng: 0}))); }",
        [ids[d] for d in offsets],
    )
    page.locator("#dz-tab-route").click()
    page.locator("#dz-route-optimize").click()
    page.wait_for_function("() => document.querySelector('#dz-route-list').dataset.solved === 'optimised'")
    order = page.get_attribute("#dz-route-list", "data-order")
    assert order == ",".join(str(ids[d]) for d in range(1, 11))
    labels = page.eval_on_selector_all("#dz-route-list .dz-result-name", "els => els.map(e => e.textContent)")
    assert labels == [f"站点{d:02d}" for d in range(1, 11)]
    assert page.locator(".leaflet-marker-icon .dz-stop").count() == 11  # start + 10 numbered stops
    assert "10" in page.locator("#dz-route-summary").text_content()
    page.screenshot(path=f"{SHOTS}/map-route.png")


def test_right_click_tells_what_is_here(map_page, live_server, customers):
    page, (user, _made) = map_page, customers
    _login(page, live_server, user)
    page.goto(f"{live_server.url}/map/?at=12,22.5333,113.9304")
    _ready(page)
    box = page.locator("#dz-map").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, button="right")
    popup = page.locator("[data-testid=what-is-here]")
    expect(popup.locator(".dz-here-label")).to_contain_text("南山区")
    expect(popup).to_have_attribute("data-region", "440305")
    page.screenshot(path=f"{SHOTS}/map-what-is-here.png")
