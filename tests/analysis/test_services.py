import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from addresses.services import address_create
from analysis.models import Activity, Contact, CustomerScore, Order
from analysis.services import (
    OrderInput,
    activity_create,
    contact_create,
    follow_up_done,
    orders_upsert,
    scores_recompute,
    visit_check_in,
)

pytestmark = pytest.mark.django_db
TODAY = datetime.date(2026, 12, 1)


@pytest.fixture(autouse=True)
def english():
    """Error texts are compared in English (the default language is Simplified Chinese)."""
    with translation.override("en"):
        yield


@pytest.fixture
def customer(make_customer, sales):
    return make_customer("华南贸易", owner=sales, external_id="C1")


def order(number="SO-1", ext="C1", on="2026-11-01", amount="100.00", **extra):
    return OrderInput(number=number, customer_external_id=ext, ordered_on=on, amount=amount, **extra)


def test_a_primary_contact_takes_the_flag_from_the_previous_one(customer, sales):
    first = contact_create(customer=customer, actor=sales, name="王经理", is_primary=True)
    second = contact_create(
        customer=customer, actor=sales, name="李采购", phone="13800138000", is_primary=True
    )
    first.refresh_from_db()
    assert (first.is_primary, second.is_primary) == (False, True)


def test_contact_email_is_validated(customer, sales):
    with pytest.raises(ValidationError):
        contact_create(customer=customer, actor=sales, name="王", email="not-an-email")
    assert not Contact.objects.exists()


def test_follow_up_goes_to_the_author_when_nobody_is_named_and_can_be_done(customer, sales):
    activity = activity_create(
        customer=customer, actor=sales, kind="call", subject="报价", follow_up_on=datetime.date(2026, 12, 9)
    )
    assert activity.assignee == sales and activity.is_open_follow_up
    follow_up_done(activity=activity, actor=sales)
    assert not Activity.objects.get().is_open_follow_up


def test_an_activity_cannot_name_another_customers_contact(customer, make_customer, sales):
    other = contact_create(customer=make_customer("别家", owner=sales), actor=sales, name="赵")
    with pytest.raises(ValidationError):
        activity_create(customer=customer, actor=sales, subject="x", contact=other)


def test_visit_check_in_keeps_the_location(customer, sales):
    visit = visit_check_in(customer=customer, actor=sales, lat=22.5405123, lng=113.9345)
    assert visit.kind == "visit" and visit.lat == Decimal("22.540512")


def test_orders_are_written_converted_and_addressed_to_the_primary_address(customer, sales):
    address = address_create(
        customer=customer, actor=sales, district_code="440305", detail="科苑路15号", is_primary=True
    )
    result = orders_upsert(items=[order(), order("SO-2", amount="10", currency="usd")], today=TODAY)
    assert (result.created, result.errors) == (2, {})
    usd = Order.objects.get(number="SO-2")
    assert usd.currency == "USD" and usd.amount_base == Decimal("72.00")
    assert usd.delivery_address_id == address.pk


def test_the_same_order_number_again_updates_the_order(customer, make_customer):
    make_customer("别家", external_id="C2")
    # Order ids and customer ids apart, so the ownership check cannot compare one with the other.
    orders_upsert(items=[order(f"X{i}", "C2") for i in range(3)], today=TODAY)
    orders_upsert(items=[order(amount="100")], today=TODAY)
    again = orders_upsert(items=[order(amount="120", status="paid")], today=TODAY)
    same = orders_upsert(items=[order(amount="120", status="paid")], today=TODAY)
    assert (again.updated, same.unchanged) == (1, 1)
    assert Order.objects.get(number="SO-1").amount == Decimal("120.00")


def test_a_number_twice_in_one_batch_keeps_the_first(customer):
    result = orders_upsert(items=[order(amount="1"), order(amount="2")], today=TODAY)
    assert result.created == 1 and list(result.errors) == [1]
    assert Order.objects.get().amount == Decimal("1.00")


def test_an_order_number_cannot_move_to_another_customer(customer, make_customer):
    make_customer("别家", external_id="C2")
    orders_upsert(items=[order()], today=TODAY)
    result = orders_upsert(items=[order(ext="C2")], today=TODAY)
    assert "another customer" in result.errors[0][0]


@pytest.mark.parametrize(
    ("item", "message"),
    [
        (order(ext="NOPE"), "Unknown customer"),
        (order(amount="-5"), "negative"),
        (order(amount="abc"), "not a number"),
        (order(amount=""), "not a number"),
        (order(currency="XYZ"), "Unknown currency"),
        (order(on="2027-01-01"), "future"),
        (order(on="31/12/2026"), "not a date"),
        (order(on="2026-02-30"), "not a date"),
        (order(number=""), "missing"),
        (order(status="shipped?"), "status"),
    ],
)
def test_bad_order_rows_are_rejected_with_a_reason(customer, item, message):
    result = orders_upsert(items=[item], today=TODAY)
    assert result.created == 0
    assert message in " ".join(result.errors[0])
    assert not Order.objects.exists()


def test_an_order_for_a_customer_the_actor_cannot_see_is_rejected(customer, other_sales):
    result = orders_upsert(items=[order()], actor=other_sales, today=TODAY)
    assert "Unknown customer" in result.errors[0][0]


def test_a_delivery_address_of_another_customer_is_rejected(customer, make_customer, sales):
    theirs = address_create(customer=make_customer("别家"), actor=sales, district_code="440305")
    result = orders_upsert(items=[order(delivery_address_id=theirs.pk)], today=TODAY)
    assert "not one of this customer's addresses" in result.errors[0][0]


def test_dry_run_validates_and_writes_nothing(customer):
    result = orders_upsert(items=[order()], dry_run=True, today=TODAY)
    assert result.created == 1 and not Order.objects.exists()


def test_lifecycle_moves_the_stage_at_the_first_and_second_order_when_scored(customer):
    orders_upsert(items=[order("A")], today=TODAY)
    customer.refresh_from_db()
    assert customer.stage == "potential"  # moved by the scoring run, not the order write
    assert scores_recompute(today=TODAY).stages_moved == 1
    customer.refresh_from_db()
    assert customer.stage == "new"
    orders_upsert(items=[order("B")], today=TODAY)
    scores_recompute(today=TODAY)
    customer.refresh_from_db()
    assert customer.stage == "existing"


def test_a_manual_stage_wins_until_the_next_threshold(customer):
    from customers.services import customer_update

    orders_upsert(items=[order("A"), order("B")], today=TODAY)
    scores_recompute(today=TODAY)
    customer.refresh_from_db()
    customer_update(customer=customer, stage="churned")
    orders_upsert(items=[order("C")], today=TODAY)  # a third order crosses no threshold
    assert scores_recompute(today=TODAY).stages_moved == 0
    customer.refresh_from_db()
    assert customer.stage == "churned"


def test_cancelled_orders_do_not_make_a_customer_new(customer):
    orders_upsert(items=[order("A", status="cancelled")], today=TODAY)
    scores_recompute(today=TODAY)
    customer.refresh_from_db()
    assert customer.stage == "potential"


def test_scores_rank_segments_and_flag_churn_risk(make_customer, settings):
    settings.ANALYSIS_CHURN_INTERVAL_MULTIPLE = 2
    settings.ANALYSIS_CHURN_SINGLE_ORDER_DAYS = 180
    regular = make_customer("常客", external_id="R")  # monthly, last one 20 days ago
    lapsed = make_customer("久未下单", external_id="L")  # monthly, then silent 100 days
    once = make_customer("一次", external_id="O")  # one order, 200 days ago
    gone = make_customer("流失", external_id="G")  # 400 days ago
    items = [order(f"R{m}", "R", TODAY - datetime.timedelta(days=20 + 30 * m), "1000") for m in range(6)]
    items += [order(f"L{m}", "L", TODAY - datetime.timedelta(days=100 + 30 * m), "800") for m in range(6)]
    items += [order("O1", "O", TODAY - datetime.timedelta(days=200), "50")]
    items += [order("G1", "G", TODAY - datetime.timedelta(days=400), "50")]
    items += [order("X1", "R", TODAY - datetime.timedelta(days=1), "5", status="cancelled")]
    assert not orders_upsert(items=items, today=TODAY).errors
    assert scores_recompute(today=TODAY).scored == 4
    scores = {s.customer_id: s for s in CustomerScore.objects.all()}
    assert scores[regular.pk].order_count == 6 and scores[regular.pk].days_since_last == 20
    assert scores[regular.pk].segment == "key_value" and not scores[regular.pk].churn_risk
    assert scores[lapsed.pk].usual_interval_days == 30 and scores[lapsed.pk].churn_risk
    assert scores[once.pk].churn_risk and scores[once.pk].usual_interval_days is None
    assert scores[gone.pk].segment == "lost" and not scores[gone.pk].churn_risk
    assert scores[regular.pk].revenue == Decimal("6000.00")
    assert scores_recompute(today=TODAY).scored == 4  # recomputing replaces, never duplicates
