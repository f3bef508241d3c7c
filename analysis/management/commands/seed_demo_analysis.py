"""Demo orders, contacts and activities for the demo customers (seed_demo's), then scores.

Additive: only customers without orders get some. About 70% of customers buy, with habits of
their own (every few weeks to once or twice a year); some stopped buying months ago, so the
churn-risk page has something to show. Orders go through `orders_upsert` in batches.
"""

import datetime
import random
import time

from django.core.management.base import BaseCommand
from django.utils import timezone

from analysis.choices import ActivityKind, OrderStatus
from analysis.models import Activity, Contact, Order
from analysis.services import (
    OrderInput,
    activities_bulk_create,
    contacts_bulk_create,
    orders_upsert,
    scores_recompute,
)
from customers.models import Customer

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = ("伟", "芳", "娜", "敏", "静", "磊", "洋", "勇", "艳", "杰", "军", "强", "婷", "丽", "涛")
TITLES = ("采购经理", "总经理", "财务", "仓库主管", "店长", "行政", "技术负责人")
SUBJECTS = {
    ActivityKind.CALL: ("电话回访", "确认订单", "报价沟通", "催款"),
    ActivityKind.VISIT: ("上门拜访", "新品介绍", "现场勘察"),
    ActivityKind.MEETING: ("年度合作洽谈", "季度复盘"),
    ActivityKind.NOTE: ("客户反馈价格偏高", "对交付周期满意"),
}
BATCH = 20_000


class Command(BaseCommand):
    help = "Add demo orders, contacts and activities to customers that have no orders, then recompute scores."

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=2026)
        parser.add_argument("--buyers", type=float, default=0.7, help="share of customers who buy")
        parser.add_argument("--if-empty", action="store_true", help="only if there are no orders yet")

    def handle(self, *args, seed, buyers, if_empty, **options):
        started = time.perf_counter()
        if if_empty and Order.objects.exists():
            self.stdout.write("Orders already exist; not adding demo orders.")
            return
        rnd = random.Random(seed)
        today = timezone.localdate()
        customers = list(
            Customer.objects.exclude(external_id=None)
            .exclude(orders__isnull=False)
            .order_by("pk")
            .values_list("pk", "external_id", "kind", "owner_id")
        )
        serial = Order.objects.count()
        items, made = [], 0
        contacts, activities = [], []
        now = timezone.now()
        for pk, ext, kind, owner_id in customers:
            # The same random draws in the same order as ever: the same seed gives the same data.
            if kind == "enterprise" and rnd.random() < 0.5:
                contacts += _contacts(rnd, pk)
            if rnd.random() < 0.2:
                activities += _activities(rnd, pk, owner_id, now=now, today=today)
            if rnd.random() >= buyers:
                continue
            orders = _orders(rnd, ext, today=today, serial=serial)
            serial += len(orders)
            items += orders
            if len(items) >= BATCH:
                made += self._write(items)
        made += self._write(items)
        contacts_bulk_create(contacts=contacts)
        activities_bulk_create(activities=activities)
        scored = scores_recompute().scored
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo analysis data in {time.perf_counter() - started:.1f} s: {made:,} orders, "
                f"{len(contacts):,} contacts, {len(activities):,} activities; {scored:,} customers scored."
            )
        )

    def _write(self, items: list) -> int:
        if not items:
            return 0
        result = orders_upsert(items=items)
        if result.errors:
            first = next(iter(result.errors.items()))
            raise RuntimeError(f"demo order rejected: {first}")
        items.clear()
        return result.created


def _contacts(rnd: random.Random, customer_id: int) -> list[Contact]:
    contacts = []
    for i in range(rnd.choice((1, 1, 2, 3))):
        name = rnd.choice(SURNAMES) + rnd.choice(GIVEN) + (rnd.choice(GIVEN) if rnd.random() < 0.6 else "")
        contacts.append(
            Contact(
                customer_id=customer_id,
                name=name,
                title=rnd.choice(TITLES),
                mobile=f"1{rnd.choice('3589')}{rnd.randrange(10**9):09d}",
                is_primary=i == 0,
            )
        )
    return contacts


def _activities(rnd: random.Random, customer_id: int, owner_id, *, now, today) -> list[Activity]:
    activities = []
    for _i in range(rnd.randint(1, 4)):
        kind = rnd.choice(list(SUBJECTS))
        when = now - datetime.timedelta(days=rnd.uniform(0, 180))
        follow = today + datetime.timedelta(days=rnd.randint(-5, 20)) if rnd.random() < 0.3 else None
        activities.append(
            Activity(
                customer_id=customer_id,
                kind=kind,
                subject=rnd.choice(SUBJECTS[kind]),
                occurred_at=when,
                author_id=owner_id,
                follow_up_on=follow,
                assignee_id=owner_id if follow else None,
            )
        )
    return activities


def _orders(rnd: random.Random, external_id: str, *, today, serial: int) -> list[OrderInput]:
    """A customer's habit: an interval between orders, a typical amount, and maybe a stop."""
    interval = rnd.choice((14, 30, 45, 60, 90, 180, 365))
    typical = rnd.lognormvariate(8, 1)  # median ~3,000 yuan
    stopped = rnd.randint(30, 500) if rnd.random() < 0.25 else 0
    day = today - datetime.timedelta(days=stopped + rnd.randint(0, interval))
    first = today - datetime.timedelta(days=730)
    orders: list[OrderInput] = []
    while day > first and len(orders) < 40:
        usd = rnd.random() < 0.03
        amount = typical * rnd.uniform(0.5, 1.6) / (7.2 if usd else 1)
        orders.append(
            OrderInput(
                number=f"SO{serial + len(orders) + 1:09d}",
                customer_external_id=external_id,
                ordered_on=day,
                amount=f"{amount:.2f}",
                currency="USD" if usd else "CNY",
                status=OrderStatus.CANCELLED
                if rnd.random() < 0.04
                else rnd.choice((OrderStatus.PAID, OrderStatus.DELIVERED, OrderStatus.DELIVERED)),
            )
        )
        day -= datetime.timedelta(days=max(1, int(rnd.gauss(interval, interval / 4))))
    return orders
