"""The customer list in Chromium: login, filters and chips, bulk category, language, access."""

import re

import pytest
from playwright.sync_api import expect

from addresses.models import Address
from addresses.services import address_create

pytestmark = pytest.mark.browser
SHOTS = "/tmp"


@pytest.fixture
def customers(base_data, make_customer, sales, other_sales, category):
    made = []
    for i, code in enumerate(["440305", "440304", "440106", "110105", "110101"]):
        customer = make_customer(f"测试客户{i}", owner=sales, phone=f"1380000000{i}")
        address_create(
            customer=customer,
            district_code=code,
            detail=f"{i}号",
            category_ids=[category.pk] if i in (0, 3) else [],
        )
        made.append(customer)
    hidden = make_customer("别人的客户", owner=other_sales)
    address_create(customer=hidden, district_code="310101", detail="外滩")
    return {"mine": made, "hidden": hidden}


def rows(page):
    return page.locator("table.dz-table tbody tr [data-row-check]")


def test_login_filter_by_province_then_category_then_clear_chips(
    page, login, live_server, sales, customers, category
):
    login(page, sales)
    page.goto(f"{live_server.url}/customers/")
    expect(rows(page)).to_have_count(5)
    expect(page.locator("text=别人的客户")).to_have_count(0)

    page.select_option('[data-region-picker] select[data-depth="0"]', "CN")
    province = page.locator('[data-region-picker] select[data-depth="1"]')
    expect(province).to_be_visible()
    province.select_option("440000")
    expect(page).to_have_url(re.compile(r"region=440000"))
    expect(rows(page)).to_have_count(3)
    expect(page.locator(".dz-chip")).to_contain_text(["广东省"])

    page.locator(f'label[for="dz-cat-{category.pk}"]').click()
    expect(rows(page)).to_have_count(1)
    expect(page.locator(".dz-chip")).to_have_count(2)
    expect(page.locator(".dz-chip").nth(1)).to_contain_text("仓库")
    expect(page).to_have_url(re.compile(rf"category={category.pk}"))
    page.screenshot(path=f"{SHOTS}/dz-list-filtered.png")

    # The URL carries the filter: opening it again gives the same list.
    page.goto(page.url)
    expect(rows(page)).to_have_count(1)
    expect(page.locator('[data-region-picker] select[data-depth="1"]')).to_have_value("440000")

    page.locator(".dz-chip", has_text="广东省").click()
    expect(rows(page)).to_have_count(2)  # the two warehouses, anywhere
    expect(page).not_to_have_url(re.compile(r"region="))
    page.locator(".dz-chip-clear").click()
    expect(rows(page)).to_have_count(5)
    expect(page.locator(".dz-chip")).to_have_count(0)


def test_assign_a_category_to_20_selected_customers(
    page, login, live_server, sales, make_customer, base_data
):
    from addresses.models import AddressCategory

    shop = AddressCategory.objects.create(name="门店", colour="#22c55e")
    for i in range(24):
        address_create(
            customer=make_customer(f"批量{i:02d}", owner=sales), district_code="440305", detail=f"{i}号"
        )
    login(page, sales)
    page.goto(f"{live_server.url}/customers/")
    checks = rows(page)
    expect(checks).to_have_count(24)
    assign = page.locator('#dz-bulk button[name="mode"][value="add"]')
    expect(assign).to_be_disabled()
    for i in range(20):
        checks.nth(i).check()
    expect(page.locator("[data-selected-label]")).to_contain_text("20")
    page.select_option('#dz-bulk select[name="category"]', str(shop.pk))
    assign.click()
    expect(page.locator(".alert-success")).to_contain_text("20")
    assert Address.objects.filter(categories=shop).count() == 20
    expect(page.locator("td.d-md-table-cell .dz-cat", has_text="门店")).to_have_count(20)

    # Select all on the page, then remove the category from all of them.
    page.locator("[data-select-all]").check()
    expect(page.locator("[data-selected-label]")).to_contain_text("24")
    page.select_option('#dz-bulk select[name="category"]', str(shop.pk))
    page.locator('#dz-bulk button[name="mode"][value="remove"]').click()
    expect(page.locator(".alert-success")).to_be_visible()
    assert Address.objects.filter(categories=shop).count() == 0


def test_switch_language_is_remembered(page, login, live_server, sales, customers):
    login(page, sales)
    page.goto(f"{live_server.url}/customers/")
    expect(page.locator("h1")).to_have_text("客户")
    page.locator('.dz-lang button[value="en"]').click()
    expect(page.locator("h1")).to_have_text("Customers")
    expect(page.locator("#dz-result-count")).to_contain_text("5 customers")
    page.goto(f"{live_server.url}/customers/regions/CN/")
    expect(page.locator("h1")).to_have_text("China")
    expect(page.locator(".dz-bars")).to_contain_text("Guangdong")
    page.locator('.dz-lang button[value="zh-hans"]').click()
    expect(page.locator("h1")).to_have_text("中国")


def test_sales_user_cannot_open_another_users_customer(page, login, live_server, sales, customers):
    login(page, sales)
    page.console_errors.allow("404")
    response = page.goto(f"{live_server.url}{customers['hidden'].get_absolute_url()}")
    assert response.status == 404
    response = page.goto(f"{live_server.url}/customers/?q=别人的客户")
    expect(rows(page)).to_have_count(0)


def test_region_browser_drills_down_and_links_to_the_list(page, login, live_server, sales, customers):
    login(page, sales)
    page.goto(f"{live_server.url}/customers/regions/")
    page.locator(".dz-bars a", has_text="中国").first.click()
    expect(page.locator("h1")).to_have_text("中国")
    page.locator(".dz-bars a", has_text="广东省").first.click()
    expect(page.locator("h1")).to_have_text("广东省")
    page.screenshot(path=f"{SHOTS}/dz-regions.png", full_page=True)
    page.locator(".dz-bar-count").first.click()
    expect(page).to_have_url(re.compile(r"/customers/\?region=440300"))
    expect(rows(page)).to_have_count(2)


def test_pages_on_a_phone_have_no_console_errors(browser, live_server, base_data, login, manager, customers):
    from tests.browser.conftest import new_context

    context = new_context(browser, width=390, height=844)
    page = context.new_page()
    login(page, manager)
    page.goto(f"{live_server.url}/customers/")
    expect(page.locator("#dz-filter-panel")).to_be_hidden()
    page.locator('button[data-bs-target="#dz-filter-panel"]').click()
    expect(page.locator("#dz-filter-panel")).to_be_visible()
    page.screenshot(path=f"{SHOTS}/dz-list-phone-filters.png")
    page.select_option("#dz-kind", "enterprise")
    expect(page.locator("#dz-filter-panel")).to_be_visible()  # stays open across the refresh
    page.goto(f"{live_server.url}/customers/")
    page.screenshot(path=f"{SHOTS}/dz-list-phone.png")
    page.goto(f"{live_server.url}/customers/regions/CN/")
    page.screenshot(path=f"{SHOTS}/dz-regions-phone.png", full_page=True)
    errors = list(context.console_errors)
    context.close()
    assert not errors, errors
