"""Server time of the customer list at a million customers.

Usage: DATABASE_URL=postgres://postgres@127.0.0.1:5432/dizhi_bench .venv/bin/python bench/list_page.py [N] [--runs R]

Tops the database up to N customers (default 1,000,000) with `seed_demo` if it
has fewer, then times R requests (default 50) of each case through Django's test Client
and prints the first (cold) request apart, then p50 / p95 / p99 / max of the
R requests after it, and the query count.
"""

import argparse
import math
import re
import statistics
import time

import _django  # noqa: F401
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from addresses.models import AddressCategory
from customers.models import Customer


def top_up(target: int) -> None:
    count = Customer.objects.count()
    if count >= target:
        print(f"{count:,} customers present (target {target:,}); not seeding")
        return
    print(f"{count:,} customers present; seeding {target - count:,} more with seed_demo ...", flush=True)
    started = time.perf_counter()
    call_command("seed_demo", customers=target - count, verbosity=1)
    print(f"seeded in {time.perf_counter() - started:.0f} s", flush=True)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")


def cases() -> list[tuple[str, str, bool]]:
    category = AddressCategory.objects.get(name="仓库")
    phone = Customer.objects.filter(external_id="DEMO-00500000").values_list("phone", flat=True).first()
    phone = phone or Customer.objects.order_by("pk").values_list("phone", flat=True).first()
    return [
        ("no filter", "/customers/", False),
        ("one province (广东省)", "/customers/?region=440000", False),
        (
            "one district + one category (南山区, 仓库)",
            f"/customers/?region=440305&category={category.pk}",
            False,
        ),
        (f"phone search ({phone})", f"/customers/?q={phone}", False),
        # Beyond the cases: two-character Chinese words, a common one and a rarer one.
        ("text search, common word (科技)", "/customers/?q=科技", False),
        ("text search, two characters (欧阳)", "/customers/?q=欧阳", False),
        ("page 200 of a province (广东省)", "/customers/?region=440000&page=200", False),
        # Deep pages remember their first row for a keyset seek (customers.selectors);
        # with the cache emptied before each request, every request is a first visit.
        ("page 200 of a province, first visit", "/customers/?region=440000&page=200", True),
    ]


def measure(client: Client, url: str, runs: int, cold: bool = False) -> dict:
    # The first request of a case (plans, caches and pages not yet warm) is reported apart.
    started = time.perf_counter()
    response = client.get(url, secure=True)
    first = (time.perf_counter() - started) * 1000
    assert response.status_code == 200, (url, response.status_code)
    times = []
    with CaptureQueriesContext(connection) as ctx:
        for _ in range(runs):
            if cold:
                cache.clear()
            started = time.perf_counter()
            response = client.get(url, secure=True)
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200
    times.sort()
    return {
        "first": first,
        "p50": statistics.median(times),
        "p95": pct(times, 95),
        "p99": pct(times, 99),
        "max": times[-1],
        "queries": len(ctx.captured_queries) // runs,
        "shown": _result_count(response.content.decode()),
    }


def pct(sorted_times: list[float], p: int) -> float:
    """The nearest-rank percentile (p99 of 50 requests is the slowest but none)."""
    return sorted_times[max(0, min(len(sorted_times) - 1, math.ceil(p / 100 * len(sorted_times)) - 1))]


def _result_count(html: str) -> str:
    """The count the page shows ("3,000 customers", "about 150,000 customers")."""
    match = re.search(r'id="dz-result-count">(.*?)</span>', html, re.S)
    return " ".join(match.group(1).split()) if match else "?"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("customers", nargs="?", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--user", default="manager", help="demo user to log in as (seed_demo's users)")
    args = parser.parse_args()
    top_up(args.customers)

    client = Client(HTTP_HOST="127.0.0.1", HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(get_user_model().objects.get(username=args.user))
    total = Customer.objects.count()
    print(
        f"\ndatabase: {connection.vendor}, {total:,} customers, user {args.user}, {args.runs} requests each\n"
    )
    header = (
        f"{'case':<48} {'first ms':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8} {'queries':>8}"
        "  page says"
    )
    print(header)
    print("-" * len(header))
    for name, url, cold in cases():
        r = measure(client, url, args.runs, cold)
        print(
            f"{name:<48} {r['first']:>8.1f} {r['p50']:>8.1f} {r['p95']:>8.1f} {r['p99']:>8.1f} {r['max']:>8.1f}"
            f" {r['queries']:>8}  {r['shown']}"
        )


if __name__ == "__main__":
    main()
