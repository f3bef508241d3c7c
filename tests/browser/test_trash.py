"""A manager deletes an address and a customer from their pages and restores both from the
trash; a salesperson sees no delete buttons and a styled 403 page."""

import pytest
from playwright.sync_api import expect

from addresses.services import address_create
from crm import roles
from customers.models import Customer

pytestmark = pytest.mark.browser


@pytest.fixture
def customer(make_customer, sales):
    customer = make_customer("华南贸易有限公司", owner=sales)
    address_create(
        customer=customer, actor=sales, district_code="440305", detail="科苑路15号", is_primary=True
    )
    address_create(
        customer=customer, actor=sales, kind="billing", district_code="110105", detail="建国路88号"
    )
    return customer


def test_manager_deletes_and_restores_from_the_trash(page, login, live_server, make_user, customer):
    login(page, make_user("boss", role=roles.MANAGER))
    page.goto(f"{live_server.url}/customers/{customer.pk}/")
    billing = customer.addresses.get(kind="billing")
    page.locator(f"#address-{billing.pk} [data-address-delete]").click()
    expect(page.locator("#delete-address-line")).to_contain_text("建国路88号")
    page.screenshot(path="/tmp/dz-address-delete.png", full_page=True)
    page.locator("#confirm-delete").click()
    expect(page.locator(".address-card")).to_have_count(1)
    expect(page.locator(".alert-success")).to_contain_text("回收站")
    expect(page.locator("#history [data-history-trash]")).to_contain_text("删除了地址")

    page.locator("#customer-delete").click()
    expect(page.locator("#delete-addresses li")).to_have_count(1)
    page.screenshot(path="/tmp/dz-customer-delete.png", full_page=True)
    page.locator("#confirm-delete").click()
    page.wait_for_url("**/customers/")
    assert not Customer.objects.filter(pk=customer.pk).exists()

    page.locator("#dz-user-menu").click()
    page.locator("#dz-trash-link").click()
    rows = page.locator("#trash-table tbody tr")
    expect(rows).to_have_count(2)
    page.screenshot(path="/tmp/dz-trash.png", full_page=True)
    # The address first: its customer is gone, so the page says what to do.
    rows.filter(has_text="建国路88号").get_by_role("button").click()
    expect(page.locator(".alert-danger")).to_contain_text("请先恢复客户")
    rows.filter(has_text="客户").filter(has_not_text="建国路").get_by_role("button").click()
    page.wait_for_url(f"**/customers/{customer.pk}/")
    expect(page.locator(".address-card")).to_have_count(1)
    page.goto(f"{live_server.url}/addresses/trash/")
    page.locator("#trash-table tbody tr").get_by_role("button").click()
    page.wait_for_url(f"**/customers/{customer.pk}/")
    expect(page.locator(".address-card")).to_have_count(2)
    history = page.locator("#history [data-history-trash]")
    expect(history).to_have_count(4)  # address deleted and restored, customer deleted and restored
    page.screenshot(path="/tmp/dz-restored.png", full_page=True)


def test_salesperson_has_no_delete_and_gets_a_styled_403(page, login, live_server, sales, customer):
    page.console_errors.allow("403")
    login(page, sales)
    page.goto(f"{live_server.url}/customers/{customer.pk}/")
    expect(page.locator(".address-card")).to_have_count(2)
    expect(page.locator("#customer-delete, [data-address-delete]")).to_have_count(0)
    page.goto(f"{live_server.url}/customers/{customer.pk}/delete/")
    expect(page.locator("[data-status='403'] h1")).to_have_text("你无权执行此操作")
    expect(page.locator("[data-status='403']")).to_contain_text("只有经理可以删除客户和地址")
    page.screenshot(path="/tmp/dz-403.png", full_page=True)
