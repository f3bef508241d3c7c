import pytest
from playwright.sync_api import expect

from addresses.services import address_create, address_update
from tests.browser.conftest import new_context

pytestmark = pytest.mark.browser

XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture
def customer(make_customer, sales, category):
    customer = make_customer("华南贸易有限公司", owner=sales, phone="13800138000", email="hn@example.com")
    head = address_create(
        customer=customer,
        actor=sales,
        kind="registered",
        is_primary=True,
        district_code="440305",
        detail="科技园科苑路15号",
        postcode="518057",
        category_ids=[category.pk],
    )
    address_create(
        customer=customer, actor=sales, kind="delivery", district_code="440106", detail="天河路385号"
    )
    address_update(address=head, expected_version=1, actor=sales, lat="22.5405", lng="113.9345")
    return customer


def test_customer_page_shows_cards_map_and_history(page, login, live_server, sales, customer, category):
    page = page
    login(page, sales)
    outline_requests = []
    page.on("request", lambda r: outline_requests.append(r.url) if "/geo/" in r.url else None)
    page.goto(f"{live_server.url}/customers/{customer.pk}/")
    expect(page.locator("#customer-name")).to_have_text("华南贸易有限公司")
    cards = page.locator(".address-card")
    expect(cards).to_have_count(2)
    first = cards.first
    expect(first).to_contain_text("广东省 › 深圳市 › 南山区")
    expect(first).to_contain_text("科技园科苑路15号")
    expect(first.locator(".category-badge")).to_contain_text(category.name)
    expect(first.locator(".badge.text-bg-success")).to_have_count(1)  # rooftop
    expect(page.locator("#customer-map[data-ready='1']")).to_be_visible()
    expect(page.locator("#customer-map .leaflet-marker-icon")).to_have_count(2)
    # Without tiles the shared map base draws the shipped outlines, fetched once each, no '//'.
    expect(page.locator("#customer-map .leaflet-outlines-pane path").first).to_be_attached()
    assert sorted(u.rsplit("/", 1)[1] for u in outline_requests) == [
        "china-provinces.geojson", "world-countries.geojson"]
    assert not [u for u in outline_requests if "//" in u.split("://", 1)[1]]
    history = page.locator("#history li")
    expect(history).to_have_count(3)
    expect(history.first).to_contain_text("sales1")
    expect(history.first).to_contain_text("22.540500, 113.934500")
    page.screenshot(path="/tmp/customer-page.png", full_page=True)


def test_customer_page_on_a_phone(browser, live_server, base_data, login, sales, customer):
    context = new_context(browser, width=390, height=844)
    page = context.new_page()
    login(page, sales)
    page.goto(f"{live_server.url}/customers/{customer.pk}/")
    expect(page.locator(".address-card")).to_have_count(2)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"page scrolls sideways ({width}px)"
    page.screenshot(path="/tmp/customer-page-phone.png", full_page=True)
    errors = list(context.console_errors)
    context.close()
    assert not errors


def test_user_text_is_escaped(page, login, live_server, sales, make_customer):
    customer = make_customer(XSS, owner=sales)
    address_create(customer=customer, actor=sales, raw_text="北京市朝阳区" + XSS)
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    login(page, sales)
    page.goto(f"{live_server.url}/customers/{customer.pk}/")
    expect(page.locator("#customer-name")).to_have_text(XSS)
    page.locator("#customer-map .leaflet-marker-icon").first.click()
    expect(page.locator(".leaflet-popup-content")).to_contain_text(XSS)
    assert page.locator("img[src='x']").count() == 0
    assert dialogs == []


def test_sales_user_cannot_open_another_users_customer(page, login, live_server, other_sales, customer):
    page.context.console_errors.allow("404 (Not Found)")  # the browser logs the 404 page load itself
    login(page, other_sales)
    response = page.goto(f"{live_server.url}/customers/{customer.pk}/")
    assert response.status == 404
    response = page.goto(f"{live_server.url}/addresses/{customer.addresses.first().pk}/edit/")
    assert response.status == 404
