import re

import pytest
from playwright.sync_api import expect

from addresses.models import Address
from addresses.services import address_create
from customers.models import Customer
from geo.selectors import region_index

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def warm_parser(base_data):
    """The live server runs in this process: build the parser's index now, not on the first keystroke."""
    region_index()


def test_create_customer_by_pasting_an_address(page, login, live_server, sales):
    page = page
    login(page, sales)
    page.goto(f"{live_server.url}/customers/new/")
    page.fill('input[name="name"]', "深圳湾科技有限公司")
    page.locator('textarea[name="address-raw_text"]').press_sequentially(
        "广东省深圳市南山区科技园科苑路15号 518057"
    )

    expect(page.locator("[data-parse-result]")).to_contain_text("南山区")
    expect(page.locator('select[name="address-province"]')).to_have_value("440000")
    expect(page.locator('select[name="address-city"]')).to_have_value("440300")
    expect(page.locator('select[name="address-district"]')).to_have_value("440305")
    expect(page.locator('input[name="address-detail"]')).to_have_value("科技园科苑路15号")
    expect(page.locator('input[name="address-postcode"]')).to_have_value("518057")
    page.screenshot(path="/tmp/address-paste.png", full_page=True)

    page.get_by_role("button", name="创建客户").or_(
        page.get_by_role("button", name="Create customer")
    ).click()
    page.wait_for_url("**/customers/*/")
    expect(page.locator(".address-card")).to_have_count(1)
    expect(page.locator(".address-card")).to_contain_text("南山区")
    customer = Customer.objects.get(name="深圳湾科技有限公司")
    assert customer.owner == sales
    address = customer.addresses.get()
    assert (address.district.code, address.detail, address.postcode) == (
        "440305",
        "科技园科苑路15号",
        "518057",
    )


def test_ambiguous_paste_offers_choices(page, login, live_server, sales, make_customer):
    customer = make_customer("歧义", owner=sales)
    page = page
    login(page, sales)
    page.goto(f"{live_server.url}/addresses/new/{customer.pk}/")
    page.locator('textarea[name="raw_text"]').fill("朝阳区建国路88号")
    choices = page.locator("[data-ambiguity] [data-pick-code]")
    expect(choices.first).to_be_visible()
    beijing = page.locator('[data-pick-code="110105"]')
    beijing.click()
    expect(page.locator('select[name="district"]')).to_have_value("110105")
    expect(page.locator('select[name="province"]')).to_have_value("110000")


def _drag_pin(page, dx=60, dy=-40):
    marker = page.locator("[data-pin-map] .leaflet-marker-icon")
    expect(marker).to_be_visible()
    box = marker.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] - 4
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + dx / 2, y + dy / 2, steps=5)
    page.mouse.move(x + dx, y + dy, steps=5)
    page.mouse.up()


def test_drag_the_pin_and_save_a_rooftop_location(page, login, live_server, sales, make_customer):
    customer = make_customer("拖动", owner=sales)
    address = address_create(customer=customer, district_code="440305", detail="科苑路15号")
    page = page
    login(page, sales)
    page.goto(f"{live_server.url}/addresses/{address.pk}/edit/")
    expect(page.locator('select[name="district"]')).to_have_value("440305")
    _drag_pin(page)
    expect(page.locator('input[name="pin_moved"]')).to_have_value("1")
    expect(page.locator("[data-pin-status]")).to_have_class(re.compile("text-success"))
    page.screenshot(path="/tmp/address-pin.png", full_page=True)
    page.locator("#address-form button[type=submit]").click()
    page.wait_for_url(f"**/customers/{customer.pk}/")
    address.refresh_from_db()
    assert address.precision == "rooftop" and address.geocode_source == "manual"
    assert address.version == 2
    expect(page.locator(f"#address-{address.pk} .badge.text-bg-success")).to_have_count(1)


def test_edit_in_two_tabs_shows_the_conflict(context, login, live_server, sales, make_customer):
    customer = make_customer("两个标签页", owner=sales)
    address = address_create(customer=customer, district_code="440305", detail="科苑路15号")
    first, second = context.new_page(), context.new_page()
    # One tab in front at a time, as for a person (Chromium throttles a background tab's
    # animation frames, which Playwright's actionability checks wait on).
    first.bring_to_front()
    login(first, sales)
    url = f"{live_server.url}/addresses/{address.pk}/edit/"
    first.goto(url)
    second.goto(url)

    first.fill('input[name="detail"]', "科苑路16号")
    first.locator("#address-form button[type=submit]").click()
    first.wait_for_url(f"**/customers/{customer.pk}/")

    second.bring_to_front()
    second.fill('input[name="detail"]', "科苑路99号A座")
    second.locator("#address-form button[type=submit]").click()
    conflict = second.locator("#conflict")
    expect(conflict).to_be_visible()
    expect(conflict.locator("[data-conflict-mine]").filter(has_text="科苑路99号A座")).to_have_count(1)
    expect(conflict.locator("[data-conflict-current]").filter(has_text="科苑路16号")).to_have_count(1)
    second.screenshot(path="/tmp/address-conflict.png", full_page=True)
    address.refresh_from_db()
    assert address.detail == "科苑路16号"

    # Re-apply: the form kept what the user typed and now carries the current version.
    expect(second.locator('input[name="detail"]')).to_have_value("科苑路99号A座")
    second.locator("#address-form button[type=submit]").click()
    second.wait_for_url(f"**/customers/{customer.pk}/")
    address.refresh_from_db()
    assert address.detail == "科苑路99号A座" and address.version == 3
    assert Address.objects.get(pk=address.pk).versions.count() == 3
