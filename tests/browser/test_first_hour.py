"""What a new user met in the first hour (issue #34, first paragraph), in Chromium."""

import pytest
from playwright.sync_api import expect

from addresses.services import address_create
from geo.selectors import region_index
from tests.browser.conftest import new_context

pytestmark = pytest.mark.browser


@pytest.fixture
def located(make_customer, sales):
    customer = make_customer("华南贸易有限公司", owner=sales, kind="enterprise")
    address_create(customer=customer, actor=sales, district_code="440305", detail="科苑路15号")
    return customer


def test_kind_column_stays_on_one_line_at_1366px(browser, live_server, base_data, login, sales, located):
    context = new_context(browser, width=1366, height=768)
    page = context.new_page()
    login(page, sales)
    page.goto(f"{live_server.url}/customers/")
    cell = page.locator("td[data-col=kind]").first
    expect(cell).to_have_text("企业")
    lines = page.evaluate(
        """() => { const r = document.createRange();
                  r.selectNodeContents(document.querySelector('td[data-col=kind]'));
                  return new Set(Array.from(r.getClientRects()).map(x => Math.round(x.top))).size; }"""
    )
    assert lines == 1
    context.close()


def test_customer_page_map_speaks_chinese_and_says_why_it_is_bare(page, login, live_server, sales, located):
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    login(page, sales)
    page.goto(f"{live_server.url}/customers/{located.pk}/")
    page.wait_for_selector("#customer-map[data-ready='1']")
    expect(page.locator("#customer-map .leaflet-control-zoom-in")).to_have_attribute("title", "放大")
    expect(page.locator("#customer-map .leaflet-control-zoom-out")).to_have_attribute("aria-label", "缩小")
    expect(page.locator("#customer-map .dz-map-hint")).to_contain_text("未配置街道地图")
    page.locator("#customer-map .leaflet-marker-icon").first.click()
    expect(page.locator(".leaflet-popup-close-button")).to_have_attribute("aria-label", "关闭")
    page.screenshot(path="/tmp/dz-customer-no-tiles.png", full_page=True)

    page.locator("#customer-nearby").click()
    page.wait_for_url(f"**/map/?near={located.pk}*")
    page.wait_for_selector("#dz-map-status[data-state='ready']")
    expect(page.locator("#dz-map .leaflet-control-zoom-in")).to_have_attribute("title", "放大")
    expect(page.locator("#dz-no-tiles-hint")).to_be_visible()  # zoomed in on the customer
    page.wait_for_function("Number(document.getElementById('dz-map').dataset.outlines || 0) > 0")
    page.screenshot(path="/tmp/dz-map-near-no-tiles.png")
    geo = [u for u in requests if "/static/geo/" in u]
    assert geo and not [u for u in geo if "/geo//" in u]


def test_new_customer_form_has_no_pin_until_the_address_has_a_place(page, login, live_server, sales):
    region_index()  # the live server shares this process: build the parser's index before typing
    login(page, sales)
    page.goto(f"{live_server.url}/customers/new/")
    pin_map = page.locator("[data-pin-map]")
    expect(pin_map.locator(".leaflet-control-zoom-in")).to_be_visible()
    expect(pin_map.locator(".leaflet-marker-icon")).to_have_count(0)
    expect(page.locator("[data-pin-status]")).to_contain_text("显示图钉")
    page.screenshot(path="/tmp/dz-new-customer-no-pin.png", full_page=True)
    page.locator('textarea[name="address-raw_text"]').press_sequentially("广东省深圳市南山区科苑路15号")
    expect(page.locator('select[name="address-district"]')).to_have_value("440305")
    expect(pin_map.locator(".leaflet-marker-icon")).to_have_count(1)
    expect(page.locator("[data-pin-status]")).to_contain_text("将图钉拖到")
