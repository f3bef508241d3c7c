import datetime

import pytest
from django.urls import reverse

from addresses.services import address_create
from analysis.models import Activity, Contact
from analysis.services import OrderInput, activity_create, contact_create, orders_upsert, scores_recompute

pytestmark = pytest.mark.django_db


@pytest.fixture
def shenzhen(make_customer, sales):
    customer = make_customer("深圳客户", owner=sales, external_id="SZ")
    address_create(
        customer=customer, actor=sales, district_code="440305", detail="科苑路15号", is_primary=True
    )
    return customer


@pytest.fixture
def beijing(make_customer, other_sales):
    customer = make_customer("北京客户", owner=other_sales, external_id="BJ")
    address_create(
        customer=customer, actor=other_sales, district_code="110105", detail="建国路1号", is_primary=True
    )
    return customer


@pytest.fixture
def orders(shenzhen, beijing):
    today = datetime.date.today()
    items = [
        OrderInput(
            number=f"SZ{i}",
            customer_external_id="SZ",
            ordered_on=today - datetime.timedelta(days=30 * i + 200),
            amount="1000",
        )
        for i in range(3)
    ] + [
        OrderInput(
            number="BJ1",
            customer_external_id="BJ",
            ordered_on=today - datetime.timedelta(days=10),
            amount="777",
        )
    ]
    assert not orders_upsert(items=items).errors
    scores_recompute()


def test_customer_page_shows_the_360_section(client, sales, shenzhen, orders):
    contact_create(customer=shenzhen, actor=sales, name="王经理", title="采购", is_primary=True)
    activity_create(customer=shenzhen, actor=sales, kind="visit", subject="拜访<b>")
    client.force_login(sales)
    html = client.get(reverse("customers:detail", args=[shenzhen.pk])).content.decode()
    assert "王经理" in html and "拜访&lt;b&gt;" in html
    assert 'id="orders"' in html and "SZ0" in html and "¥3,000" in html.replace("\u00a0", "")
    assert "Churn risk" in html or "流失风险" in html


def test_adding_a_contact_and_an_activity_through_the_forms(client, sales, shenzhen):
    client.force_login(sales)
    url = reverse("analysis:contact_create", args=[shenzhen.pk])
    assert (
        client.post(url, {"name": "李采购", "mobile": "13800138000", "is_primary": "on"}).status_code == 302
    )
    contact = Contact.objects.get()
    response = client.post(
        reverse("analysis:activity_create", args=[shenzhen.pk]),
        {
            "kind": "call",
            "subject": "回访",
            "contact": contact.pk,
            "follow_up_on": "2030-01-02",
            "assignee": sales.pk,
        },
    )
    assert response.status_code == 302
    activity = Activity.objects.get()
    assert activity.contact == contact and activity.author == sales and activity.is_open_follow_up
    page = client.get(reverse("analysis:follow_ups")).content.decode()
    assert "回访" in page
    client.post(reverse("analysis:follow_up_done", args=[activity.pk]))
    assert 'id="follow-ups"' in (page := client.get(reverse("analysis:follow_ups")).content.decode())
    assert "<td>回访</td>" not in page


def test_a_bad_contact_email_is_reported_not_saved(client, sales, shenzhen):
    client.force_login(sales)
    response = client.post(
        reverse("analysis:contact_create", args=[shenzhen.pk]), {"name": "x", "email": "bad"}, follow=True
    )
    assert not Contact.objects.exists()
    assert b"alert-danger" in response.content


def test_another_salespersons_customer_answers_404_everywhere(client, sales, beijing, other_sales):
    contact = contact_create(customer=beijing, actor=other_sales, name="赵")
    activity = activity_create(
        customer=beijing,
        actor=other_sales,
        subject="x",
        follow_up_on=datetime.date(2030, 1, 1),
        assignee=sales,
    )
    client.force_login(sales)
    assert (
        client.post(reverse("analysis:contact_create", args=[beijing.pk]), {"name": "x"}).status_code == 404
    )
    assert (
        client.post(
            reverse("analysis:activity_create", args=[beijing.pk]), {"kind": "call", "subject": "x"}
        ).status_code
        == 404
    )
    assert client.post(reverse("analysis:contact_delete", args=[contact.pk])).status_code == 404
    assert client.post(reverse("analysis:follow_up_done", args=[activity.pk])).status_code == 404
    assert client.post(reverse("analysis:check_in"), {"customer": beijing.pk}).status_code == 404
    # The follow-up of an invisible customer is not listed either.
    assert "北京客户" not in client.get(reverse("analysis:follow_ups")).content.decode()


def test_check_in_logs_a_visit_with_its_location(client, sales, shenzhen):
    client.force_login(sales)
    response = client.post(
        reverse("analysis:check_in"), {"customer": shenzhen.pk, "lat": "22.54", "lng": "113.93"}
    )
    assert response.json()["ok"] and response.json()["located"]
    visit = Activity.objects.get()
    assert visit.kind == "visit" and str(visit.lat) == "22.540000"


def test_revenue_by_region_covers_only_what_the_user_sees(client, sales, manager, orders):
    client.force_login(sales)
    html = client.get(reverse("analysis:revenue")).content.decode()
    assert "广东省" in html and "北京市" not in html
    client.force_login(manager)
    html = client.get(reverse("analysis:revenue")).content.decode()
    assert "广东省" in html and "北京市" in html
    drilled = client.get(reverse("analysis:revenue", args=["440000"])).content.decode()
    assert "深圳市" in drilled and "北京市" not in drilled
    filtered = client.get(reverse("analysis:revenue"), {"q": "北京"}).content.decode()
    assert 'data-label="北京市"' in filtered and 'data-label="广东省"' not in filtered


def test_unknown_region_answers_404(client, manager):
    client.force_login(manager)
    assert client.get(reverse("analysis:revenue", args=["999999"])).status_code == 404


def test_won_lost_segments_and_churn_pages(client, manager, orders, shenzhen):
    client.force_login(manager)
    won_lost = client.get(reverse("analysis:won_lost")).content.decode()
    assert "广东省" in won_lost and "北京市" in won_lost
    segments = client.get(reverse("analysis:segments")).content.decode()
    assert 'id="segment-chart"' in segments
    churn = client.get(reverse("analysis:churn_risk")).content.decode()
    assert "深圳客户" in churn and "北京客户" not in churn  # 200 days silent vs ordered 10 days ago


def test_analysis_pages_need_a_login(client):
    response = client.get(reverse("analysis:revenue"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_revenue_figures_follow_a_new_order(client, manager, orders, django_capture_on_commit_callbacks):
    client.force_login(manager)
    assert "¥777" in client.get(reverse("analysis:revenue")).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        orders_upsert(
            items=[
                OrderInput(number="BJ2", customer_external_id="BJ", ordered_on="2026-01-01", amount="1000")
            ]
        )
    assert "¥1,777" in client.get(reverse("analysis:revenue")).content.decode()
