from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from addresses.models import Address
from addresses.services import address_create
from customers.models import Customer

pytestmark = pytest.mark.browser


@pytest.fixture
def overdue(sales):
    c = Customer.objects.create(name="华南贸易有限公司", phone="13800138000", owner=sales)
    return address_create(
        customer=c,
        district_code="440305",
        detail="科苑路15号",
        verified_at=timezone.now() - timedelta(days=500),
    )


def test_manager_takes_a_snapshot_and_follows_a_figure(page, login, live_server, manager, overdue):
    login(page, manager)
    page.goto(f"{live_server.url}/customers/")
    page.locator("a[href='/quality/']").click()
    expect(page.locator("#no-snapshot")).to_be_visible()
    page.locator("#take-snapshot").click()
    expect(page.locator("[data-figure='overdue']")).to_have_text("1")
    expect(page.locator("#province-table tbody tr")).to_have_count(1)
    expect(page.locator("#province-table")).to_contain_text("广东省")
    page.locator("[data-figure='overdue']").click()
    expect(page.locator("#verify-table tbody tr")).to_have_count(1)


def test_salesperson_confirms_by_phone(page, login, live_server, sales, overdue):
    login(page, sales)
    page.goto(f"{live_server.url}/customers/")
    page.locator("a[href='/quality/verify/']").click()
    row = page.locator(f"#verify-table tr[data-address-id='{overdue.pk}']")
    expect(row).to_contain_text("科苑路15号")
    row.locator("form[action$='/confirm/'] button").click()
    expect(page.locator("#nothing-to-verify")).to_be_visible()
    assert Address.objects.get(pk=overdue.pk).verified_at > timezone.now() - timedelta(minutes=5)
