import pytest
from playwright.sync_api import expect

from addresses.models import Address, AddressCategory
from addresses.services import address_create

pytestmark = pytest.mark.browser


def test_create_assign_and_delete_a_category(page, login, live_server, manager, make_customer):
    customer = make_customer("分类测试", owner=manager)
    address = address_create(customer=customer, district_code="310115", detail="世纪大道100号")
    page = page
    login(page, manager)

    # Add a category.
    page.goto(f"{live_server.url}/addresses/categories/")
    page.locator('a[href="/addresses/categories/new/"]').first.click()
    page.fill('input[name="name"]', "重点客户")
    page.fill('textarea[name="description"]', "年采购额超过一百万")
    page.locator('input[name="colour"]').fill("#aa3300")
    page.locator("#category-form button[type=submit]").click()
    page.wait_for_url("**/addresses/categories/")
    row = page.locator("#category-table tbody tr", has_text="重点客户")
    expect(row).to_have_count(1)
    expect(row.locator("[data-address-count]")).to_have_text("0")
    category = AddressCategory.objects.get(name="重点客户")
    assert category.colour == "#aa3300"

    # Assign it from the address card.
    page.goto(f"{live_server.url}/customers/{customer.pk}/")
    card = page.locator(f"#address-{address.pk}")
    card.locator(".dropdown-toggle").click()
    card.locator(f'button[name="add"][value="{category.pk}"]').click()
    badge = page.locator(f"#address-{address.pk} .category-badge", has_text="重点客户")
    expect(badge).to_be_visible()
    expect(badge).to_have_css("background-color", "rgb(170, 51, 0)")
    expect(page.locator("#history li").first).to_contain_text("重点客户")  # the timeline refreshed
    page.screenshot(path="/tmp/category-assigned.png", full_page=True)
    assert list(Address.objects.get(pk=address.pk).categories.all()) == [category]

    page.goto(f"{live_server.url}/addresses/categories/")
    expect(
        page.locator("#category-table tbody tr", has_text="重点客户").locator("[data-address-count]")
    ).to_have_text("1")
    page.screenshot(path="/tmp/category-list.png", full_page=True)

    # Delete it: a confirmation page first, then the address loses the category but stays.
    page.locator("#category-table tbody tr", has_text="重点客户").locator("a.btn-outline-danger").click()
    expect(page.locator("body")).to_contain_text("1")
    page.screenshot(path="/tmp/category-delete.png", full_page=True)
    page.locator("form button.btn-danger").click()
    page.wait_for_url("**/addresses/categories/")
    expect(page.locator("#category-table tbody tr", has_text="重点客户")).to_have_count(0)
    assert Address.objects.filter(pk=address.pk).exists()
    assert not Address.objects.get(pk=address.pk).categories.exists()


def test_remove_a_category_from_the_card(page, login, live_server, sales, make_customer, category):
    customer = make_customer("移除分类", owner=sales)
    address = address_create(
        customer=customer, district_code="310115", detail="世纪大道1号", category_ids=[category.pk]
    )
    login(page, sales)
    page.goto(f"{live_server.url}/customers/{customer.pk}/")
    page.locator(f'#address-{address.pk} button[name="remove"][value="{category.pk}"]').click()
    expect(page.locator(f"#address-{address.pk} .category-badge")).to_have_count(0)
    assert not Address.objects.get(pk=address.pk).categories.exists()


def test_sales_user_sees_categories_but_cannot_manage_them(page, login, live_server, sales, category):
    login(page, sales)
    page.goto(f"{live_server.url}/addresses/categories/")
    expect(page.locator("#category-table tbody tr")).to_have_count(1)
    expect(page.locator('a[href="/addresses/categories/new/"]')).to_have_count(0)
    expect(page.locator("a.btn-outline-danger")).to_have_count(0)
