import pytest
from playwright.sync_api import expect

from addresses.models import Address
from addresses.services import address_create
from customers.models import Customer
from geo.selectors import region_index
from quality.services import self_service_link_create
from tests.browser.conftest import new_context

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def warm_parser(base_data):
    """The live server runs in this process: build the parser's index now, not on the first answer."""
    region_index()


@pytest.fixture
def customer(sales):
    c = Customer.objects.create(name="华南贸易有限公司", email="hn@example.com", owner=sales)
    address_create(customer=c, district_code="440305", detail="科苑路15号")
    address_create(customer=c, kind="registered", district_code="440106", detail="天河路385号")
    return c


def test_customer_confirms_and_corrects_on_a_phone(browser, live_server, base_data, login, sales, customer):
    first, second = Address.objects.filter(customer=customer).order_by("pk")
    _link, token = self_service_link_create(customer=customer, actor=sales)
    phone = new_context(browser, width=390, height=844)
    page = phone.new_page()
    page.goto(f"{live_server.url}/quality/s/{token}/")
    expect(page.locator(".address-answer")).to_have_count(2)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"page scrolls sideways ({width}px)"
    page.locator(f"#text_{second.pk}").fill("广东省广州市天河区天河路208号")
    expect(page.locator(f"#correct_{second.pk}")).to_be_checked()
    page.locator("#send-answers").click()
    expect(page.locator("#points-earned")).to_contain_text("30")
    page.goto(f"{live_server.url}/quality/s/{token}/")
    expect(page.locator("#link-invalid")).to_be_visible()
    phone.close()

    staff = new_context(browser)
    page = staff.new_page()
    login(page, sales)
    page.goto(f"{live_server.url}/customers/{customer.pk}/")
    history = page.locator("#history li")
    expect(history.first).to_contain_text("天河路208号")
    expect(page.locator("#history")).to_contain_text("自助")  # the self-service channel
    page.goto(f"{live_server.url}/quality/points/")
    expect(page.locator("#points-totals")).to_contain_text("30")
    expect(page.locator("#points-table tbody tr")).to_have_count(2)
    staff.close()


def test_salesperson_makes_a_link_to_copy(page, login, live_server, sales, customer):
    login(page, sales)
    page.goto(f"{live_server.url}/quality/verify/")
    page.locator("#verify-table tbody tr").first.locator("button[value='copy']").click()
    expect(page.locator("#link-url")).to_be_visible()
    url = page.locator("#link-url").input_value()
    assert "/quality/s/" in url
    page.goto(f"{live_server.url}/quality/self-service/")
    expect(page.locator("#link-table tbody tr")).to_have_count(1)
    page.locator("#link-table button[type='submit']").click()
    expect(page.locator("#link-table tbody tr").first).to_contain_text("撤回")
