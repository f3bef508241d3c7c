import pytest
from playwright.sync_api import expect

from addresses.services import address_create, address_update
from tests.browser.conftest_4b import *  # noqa: F403

pytestmark = pytest.mark.browser

XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture
def customer(make_customer, sales, category):
    customer = make_customer("华南贸易有限公司", owner=sales, phone="13800138000", email="hn@example.com")
    head = address_create(
        customer=customer, actor=sales, kind="registered", is_primary=True, district_code="440305",
        detail="科技园科苑路15号", postcode="518057", category_ids=[category.pk],
    )
    address_create(customer=customer, actor=sales, kind="delivery", district_code="440106", detail="天河路385号")
    address_update(address=head, expected_version=1, actor=sales, lat="22.5405", lng="113.9345")
    return customer


def test_customer_page_shows_cards_map_and_history(page_4b, login_4b, live_server, sales, customer, category):
    page = page_4b
    login_4b(page, sales)
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
    history = page.locator("#history li")
    expect(history).to_have_count(3)
    expect(history.first).to_contain_text("sales1")
    expect(history.first).to_contain_text("22.540500, 113.934500")
    page.screenshot(path="/tmp/customer-page.png", full_page=True)


def test_customer_page_on_a_phone(browser_4b, live_server, base_data, login_4b, sales, customer):
    context = browser_4b.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    login_4b(page, sales)
    page.goto(f"{live_server.url}/customers/{customer.pk}/")
    expect(page.locator(".address-card")).to_have_count(2)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"page scrolls sideways ({width}px)"
    page.screenshot(path="/tmp/customer-page-phone.png", full_page=True)
    context.close()
    assert not errors


def test_user_text_is_escaped(page_4b, login_4b, live_server, sales, make_customer):
    customer = make_customer(XSS, owner=sales)
    address_create(customer=customer, actor=sales, raw_text="北京市朝阳区" + XSS)
    dialogs = []
    page_4b.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    login_4b(page_4b, sales)
    page_4b.goto(f"{live_server.url}/customers/{customer.pk}/")
    expect(page_4b.locator("#customer-name")).to_have_text(XSS)
    page_4b.locator("#customer-map .leaflet-marker-icon").first.click()
    expect(page_4b.locator(".leaflet-popup-content")).to_contain_text(XSS)
    assert page_4b.locator("img[src='x']").count() == 0
    assert dialogs == []


def test_sales_user_cannot_open_another_users_customer(page_4b, login_4b, live_server, other_sales, customer):
    page_4b.context.console_errors.allow("404 (Not Found)")  # the browser logs the 404 page load itself
    login_4b(page_4b, other_sales)
    response = page_4b.goto(f"{live_server.url}/customers/{customer.pk}/")
    assert response.status == 404
    response = page_4b.goto(f"{live_server.url}/addresses/{customer.addresses.first().pk}/edit/")
    assert response.status == 404
