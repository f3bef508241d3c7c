import pytest
from playwright.sync_api import expect

from addresses.services import address_create
from customers.models import Customer
from quality.services import customer_keys_rebuild, duplicates_scan

pytestmark = pytest.mark.browser


@pytest.fixture
def pair(sales):
    a = Customer.objects.create(
        name="华南贸易有限公司", phone="0755-88881234", owner=sales, external_id="ERP-1"
    )
    b = Customer.objects.create(
        name="深圳华南贸易股份有限公司", phone="+86 755 8888 1234", owner=sales, email="hn@example.com"
    )
    address_create(customer=a, actor=sales, district_code="440305", detail="科苑路15号")
    address_create(customer=b, actor=sales, district_code="440305", detail="科苑路15号")
    customer_keys_rebuild()
    duplicates_scan()
    return a, b


def test_merge_and_undo_from_the_review_page(page, login, live_server, sales, pair):
    a, b = pair
    login(page, sales)
    page.goto(f"{live_server.url}/customers/")
    page.locator("nav a[href='/quality/verify/']").click()  # the nav's data-quality entry, for sales
    page.locator("main a[href='/quality/duplicates/']").click()
    rows = page.locator("#pair-table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("华南贸易有限公司")
    rows.first.get_by_role("link", name="比较").or_(rows.first.get_by_role("link", name="Compare")).click()
    expect(page.locator("#compare-table")).to_be_visible()
    page.locator("tr[data-field='email'] input[value='b']").check()
    page.locator("#merge-button").click()
    expect(page.locator("#no-pairs")).to_be_visible()
    expect(page.locator("#merge-list li")).to_have_count(1)
    assert not Customer.objects.filter(pk=b.pk).exists()
    assert Customer.objects.get(pk=a.pk).email == "hn@example.com"
    page.locator("#merge-list button[type='submit']").click()
    expect(page.locator("#merge-list .badge")).to_be_visible()
    expect(page.locator("#pair-table tbody tr")).to_have_count(1)
    assert Customer.objects.get(pk=b.pk).email == "hn@example.com"
    assert Customer.objects.get(pk=a.pk).email == ""
