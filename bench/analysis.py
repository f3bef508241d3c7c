"""Figures of issue 32 (orders, revenue per region, the customer page, RFM) on PostgreSQL.

Usage: DATABASE_URL=postgres://postgres@127.0.0.1:5432/dizhi_analysis \\
    .venv/bin/python bench/analysis.py [--orders 10000000] [--runs 20]

Needs customers already (bench/load_data.py N tops the database up through the import). Prints:

1. the order import (`import_orders`: read, validate, look up customers and addresses, COPY)
   of a generated CSV beside a raw COPY of the same rows, ready-built, into the same table with
   the same indexes — rows/s each and the ratio (target: the import at least 80% of raw COPY);
2. revenue per region (the analysis page's selector) at the top level, a province and a city,
   unfiltered and with list filters, as a manager and as a salesperson: p50 / p95 (target p95
   ≤ 200 ms);
3. a customer's page with 500 orders, through Django's test client: p50 / p95 (target ≤ 100 ms);
4. `scores_recompute` over every customer with orders: seconds, and the memory it took (this
   process's peak RSS; the work is one SQL statement, bounded by PostgreSQL's work_mem).
"""

import argparse
import csv
import datetime
import random
import resource
import statistics
import time
from pathlib import Path

import _django  # noqa: F401
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection, transaction
from django.db.models import Count
from django.http import QueryDict
from django.test import Client

from analysis.models import Order
from analysis.selectors import region_revenue
from analysis.services import scores_recompute
from customers.models import Customer
from geo.models import Region

ROOT = Path(__file__).resolve().parents[1]


def pct(samples, q):
    return statistics.quantiles(samples, n=100, method="inclusive")[q - 1] if len(samples) > 1 else samples[0]


def timed(fn, runs, before=None):
    samples = []
    for _ in range(runs):
        if before is not None:
            before()
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1000)
    return f"p50 {statistics.median(samples):7.1f} ms  p95 {pct(samples, 95):7.1f} ms"


def write_orders(path: Path, n: int) -> int:
    """A CSV of `n` orders over the customers with an external id (habit-shaped dates and amounts)."""
    rnd = random.Random(32)
    ext_ids = list(Customer.objects.exclude(external_id=None).values_list("external_id", flat=True))
    today = datetime.date.today()
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["订单号", "客户编号", "下单日期", "金额", "币种", "状态"])
        for i in range(n):
            ext = ext_ids[int(len(ext_ids) * rnd.random() ** 1.5)]  # some customers buy far more
            day = today - datetime.timedelta(days=int(730 * rnd.random() ** 2))
            w.writerow(
                [
                    f"B{i:010d}",
                    ext,
                    day.isoformat(),
                    f"{rnd.lognormvariate(8, 1):.2f}",
                    "USD" if rnd.random() < 0.02 else "CNY",
                    "cancelled" if rnd.random() < 0.03 else "delivered",
                ]
            )
    return len(ext_ids)


COLUMNS = (
    "number", "customer_id", "ordered_on", "amount", "currency", "amount_base", "status",
    "delivery_address_id", "created_at", "updated_at",
)  # fmt: skip


def copy_out(path: Path) -> None:
    """The orders as the import wrote them, in COPY's text format (the raw COPY's input)."""
    cols = ", ".join(COLUMNS)
    with connection.cursor() as cursor, open(path, "wb") as f:
        with cursor.cursor.copy(f"COPY analysis_order ({cols}) TO STDOUT") as copy:
            for block in copy:
                f.write(block)


def copy_in(path: Path) -> None:
    cols = ", ".join(COLUMNS)
    with connection.cursor() as cursor, open(path, "rb") as f:
        with cursor.cursor.copy(f"COPY analysis_order ({cols}) FROM STDIN") as copy:
            while block := f.read(1 << 20):
                copy.write(block)


def empty_orders():
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE analysis_order, analysis_customerscore")


def bench_import(n: int):
    path = ROOT / "var" / f"orders-{n}.csv"
    path.parent.mkdir(exist_ok=True)
    if not path.exists():
        t = time.perf_counter()
        customers = write_orders(path, n)
        print(
            f"generated {n:,} orders over {customers:,} customers in {time.perf_counter() - t:.0f} s",
            flush=True,
        )
    empty_orders()
    t = time.perf_counter()
    call_command("import_orders", str(path), "--no-rescore", "--batch-size", "50000", "--restart")
    imp = time.perf_counter() - t
    print(f"import_orders: {n:,} rows in {imp:.1f} s = {n / imp:,.0f} rows/s", flush=True)
    rows = path.with_suffix(".copy")
    copy_out(rows)  # the same rows, ready-built
    empty_orders()
    t = time.perf_counter()
    with transaction.atomic():
        copy_in(rows)
    raw = time.perf_counter() - t
    print(
        f"raw COPY of the same rows, same table and indexes: {raw:.1f} s = {n / raw:,.0f} rows/s", flush=True
    )
    print(f"import / raw COPY: {raw / imp:.0%} (target at least 80%)", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE analysis_order")


def bench_revenue(runs: int):
    User = get_user_model()
    manager = User.objects.get(username="manager")
    sales = User.objects.get(username="sales")
    cases = [
        ("all provinces", None, ""),
        ("广东省's cities", "440000", ""),
        ("深圳市's districts", "440300", ""),
        ("all provinces, enterprises", None, "kind=enterprise"),
        ("广东省, stage new+existing", "440000", "stage=new&stage=existing"),
        ("all provinces, last 90 days", None, "days=90"),
        ("all provinces, search 科技", None, "q=科技"),
    ]
    for user in (manager, sales):
        for label, code, query in cases:
            region = Region.objects.get(code=code) if code else None
            params = QueryDict(query)
            run = lambda: region_revenue(user=user, params=params, region=region)  # noqa: B023, E731
            cold = timed(run, max(3, runs // 4), before=cache.clear)
            warm = timed(run, runs)
            print(
                f"revenue per region, {user.username:<7} {label:<30} computed {cold} | cached {warm}",
                flush=True,
            )


def bench_customer_page(runs: int):
    settings.ALLOWED_HOSTS = ["*"]
    settings.SECURE_SSL_REDIRECT = False  # the test client speaks plain HTTP
    # A customer with at most 500 orders (the generated ones favour some customers), topped up to 500.
    customer = (
        Customer.objects.exclude(external_id=None)
        .annotate(n=Count("orders"))
        .filter(n__lte=500, pk__gte=Customer.objects.order_by("-pk").values_list("pk", flat=True)[5000])
        .order_by("-n")
        .first()
    )
    have = customer.n
    rows = [
        ["订单号", "客户编号", "下单日期", "金额"],
        *[
            [f"P{customer.pk}-{i}", customer.external_id, "2026-01-01", "10"]
            for i in range(max(0, 500 - have))
        ],
    ]
    path = ROOT / "var" / "orders-500.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)
    call_command("import_orders", str(path), "--no-rescore", "--restart", verbosity=0)
    count = Order.objects.filter(customer=customer).count()
    client = Client()
    client.force_login(get_user_model().objects.get(username="manager"))
    url = f"/customers/{customer.pk}/"
    assert client.get(url).status_code == 200
    print(f"customer page with {count} orders ({url}): {timed(lambda: client.get(url), runs)}", flush=True)


def bench_scores():
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t = time.perf_counter()
    # The RFM figure alone: the lifecycle rule's stage moves (customer writes, through
    # customers_upsert) depend on how many customers crossed a threshold, not on the scoring.
    result = scores_recompute(lifecycle=False)
    count = result.scored
    took = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with connection.cursor() as cursor:
        cursor.execute("SHOW work_mem")
        work_mem = cursor.fetchone()[0]
    print(
        f"scores_recompute: {count:,} customers scored from {Order.objects.count():,} orders in {took:.1f} s "
        f"(target ≤ 120 s); this process peak RSS {after / 1024:.0f} MB (+{(after - before) / 1024:.0f} MB), "
        f"PostgreSQL work_mem {work_mem}",
        flush=True,
    )


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--skip-import", action="store_true", help="keep the orders already loaded")
    parser.add_argument("--only", choices=("scores", "revenue", "page"), help="run one part only")
    args = parser.parse_args()
    assert connection.vendor == "postgresql", "run against PostgreSQL (DATABASE_URL)"
    print(f"{Customer.objects.count():,} customers; load average {open('/proc/loadavg').read().split()[:3]}")
    if not args.skip_import:
        bench_import(args.orders)
    parts = {"scores": bench_scores, "revenue": lambda: bench_revenue(args.runs)}
    parts["page"] = lambda: bench_customer_page(args.runs)
    for name, part in parts.items():
        if args.only in (None, name):
            part()


if __name__ == "__main__":
    main()
