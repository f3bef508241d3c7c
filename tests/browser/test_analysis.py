"""The analysis pages and the customer page's 360 section in headless Chromium: a visit logged
from the map's route panel, a contact and an activity added on the customer page, a follow-up
closed, and the region revenue chart read and drilled into."""

import datetime

import pytest
from playwright.sync_api import expect

from addresses.services import address_create
from analysis.models import Activity, Contact
from analysis.services import OrderInput, orders_upsert, scores_recompute

pytestmark = pytest.mark.browser


@pytest.fixture
def shop(make_customer, sales):
    customer = make_customer("华南贸易有限公司", owner=sales, external_id="HN")
    address = address_create(
        customer=customer,
        actor=sales,
        district_code="440305",
        detail="科苑路15号",
        lat=22.54,
        lng=113.93,
        is_primary=True,
    )
    return customer, address


@pytest.fixture
def orders(shop, make_customer, sales):
    guangzhou = make_customer("广州门店", owner=sales, external_id="GZ")
    address_create(
        customer=guangzhou, actor=sales, district_code="440106", detail="天河路385号", is_primary=True
    )
    today = datetime.date.today()
    items = [
        OrderInput(
            number=f"HN-{i}",
            customer_external_id="HN",
            ordered_on=today - datetime.timedelta(days=40 * i + 5),
            amount="5000",
        )
        for i in range(4)
    ] + [
        OrderInput(
            number="GZ-1",
            customer_external_id="GZ",
            ordered_on=today - datetime.timedelta(days=250),
            amount="1200",
        )
    ]
    assert not orders_upsert(items=items).errors
    scores_recompute()


def test_log_a_visit_from_the_map_route_panel(context, page, login, live_server, settings, sales, shop):
    settings.MAP_TILES = "none"
    customer, address = shop
    context.grant_permissions(["geolocation"], origin=live_server.url)
    context.set_geolocation({"latitude": 22.5401, "longitude": 113.9342})
    login(page, sales)
    page.goto(f"{live_server.url}/map/")
    page.wait_for_selector('#dz-map-status[data-state="ready"]')
    page.evaluate(
        "s => dzMap.addStops([s])",
        {
            "id": address.pk,
            "customer": customer.pk,
            "name": customer.name,
            "address": "科苑路15号",
            "lat": 22.54,
            "lng": 113.93,
        },
    )
    page.locator("#dz-tab-route").click()
    stop = page.locator("#dz-route-list li.dz-route-stop")
    expect(stop).to_have_count(1)
    stop.locator(".dz-check-in").click()
    expect(stop.locator(".dz-check-in-status")).to_contain_text("已记录对华南贸易有限公司的拜访")
    visit = Activity.objects.get()
    assert (visit.customer_id, visit.kind, visit.author_id) == (customer.pk, "visit", sales.pk)
    assert float(visit.lat) == pytest.approx(22.5401) and float(visit.lng) == pytest.approx(113.9342)
    page.goto(f"{live_server.url}/customers/{customer.pk}/")
    expect(page.locator("#timeline li").first).to_contain_text("拜访华南贸易有限公司")
    page.screenshot(path="/tmp/analysis-customer-360.png", full_page=True)


def test_add_a_contact_and_an_activity_then_close_the_follow_up(page, login, live_server, sales, shop):
    customer, _address = shop
    login(page, sales)
    page.goto(f"{live_server.url}/customers/{customer.pk}/")
    expect(page.locator("#contacts-section")).to_contain_text("暂无联系人")
    page.get_by_role("button", name="添加联系人").click()
    form = page.locator("#contact-form")
    form.get_by_label("姓名").fill("王经理")
    form.get_by_label("职务").fill("采购总监")
    form.get_by_label("手机").fill("13800138000")
    form.get_by_label("主要联系人").check()
    form.get_by_role("button", name="保存联系人").click()
    expect(page.locator("#contacts li")).to_have_count(1)
    expect(page.locator("#contacts li").first).to_contain_text("采购总监")
    assert Contact.objects.get().is_primary

    page.get_by_role("button", name="记录活动").click()
    form = page.locator("#activity-form")
    form.get_by_label("类型").select_option("call")
    form.get_by_label("主题").fill("报价回访")
    form.get_by_label("联系人").select_option(label="王经理 (采购总监)")
    form.get_by_label("跟进日期").fill("2030-01-15")
    form.get_by_role("button", name="保存活动").click()
    item = page.locator("#timeline li").first
    expect(item).to_contain_text("报价回访")
    expect(item).to_contain_text("王经理")
    expect(item.locator(".badge.text-bg-warning")).to_be_visible()

    page.get_by_role("link", name="分析").click()
    page.get_by_role("link", name="我的跟进").click()
    row = page.locator("#follow-ups tbody tr").first
    expect(row).to_contain_text("报价回访")
    row.get_by_role("button", name="标记完成").click()
    expect(page.locator("#follow-ups")).to_contain_text("没有待办跟进")
    assert Activity.objects.get().done_at is not None


def test_read_the_region_revenue_chart_and_drill_in(page, login, live_server, sales, orders):
    login(page, sales)
    page.goto(f"{live_server.url}/analysis/")
    bars = page.locator("#revenue-chart .dz-chart-bar")
    expect(bars).to_have_count(1)
    expect(bars.first).to_have_attribute("data-label", "广东省")
    expect(bars.first.locator(".dz-chart-value")).to_have_text("¥21,200")
    bars.first.get_by_role("link").click()
    expect(page.locator(".breadcrumb")).to_contain_text("广东省")
    labels = page.eval_on_selector_all("#revenue-chart .dz-chart-bar", "els => els.map(e => e.dataset.label)")
    assert labels == ["广东省 › 深圳市", "广东省 › 广州市"] or labels == ["深圳市", "广州市"]
    widths = page.eval_on_selector_all("#revenue-chart rect", "els => els.map(e => e.getAttribute('width'))")
    assert float(widths[0].rstrip("%")) == 100 and float(widths[1].rstrip("%")) == pytest.approx(
        1200 / 20000 * 100, abs=0.01
    )
    page.screenshot(path="/tmp/analysis-revenue.png", full_page=True)


def test_won_lost_segments_and_churn_pages(page, login, live_server, sales, orders):
    login(page, sales)
    page.goto(f"{live_server.url}/analysis/won-lost/")
    expect(page.locator("#won-lost-table tbody tr").first).to_contain_text("广东省")
    expect(page.locator("#won-chart .dz-chart-bar").first).to_have_attribute(
        "data-value", "2"
    )  # both first ordered within a year
    page.get_by_role("link", name="客户分群").click()
    expect(page.locator("#segment-chart .dz-chart-bar")).to_have_count(9)
    page.get_by_role("link", name="流失风险").click()
    expect(page.locator("#risk-list tbody tr").first).to_contain_text("广州门店")
    expect(page.locator("#risk-trend circle")).to_have_count(12)
    page.screenshot(path="/tmp/analysis-churn.png", full_page=True)
