"""Top a database up to N customers for the load test, through the import's write path.

Usage: DATABASE_URL=postgres://postgres@127.0.0.1:5432/dizhi_h9_bench \\
    .venv/bin/python bench/load_data.py [N] [--workers 2]

`seed_demo` (users, territories, categories, a first slice of customers) runs first when the
database has no demo users; the rest comes as one generated CSV (Faker names, free-text Chinese
addresses weighted towards the big cities as seed_demo weights them, owners spread over the demo
users, kinds and stages mixed) imported with `import_customers --workers N`: the same write path
as seed_demo (parse, geocode, history, map cells) at import speed, ten times seed_demo's on two
cores. Ends with VACUUM ANALYZE.
"""

import argparse
import csv
import random
import subprocess
import sys
import time
from pathlib import Path

import _django  # noqa: F401
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from faker import Faker

from addresses.management.commands.seed_demo import BIG_CITIES, BUILDING, STREET_SUFFIX
from customers.models import Customer
from geo.models import Region

ROOT = Path(__file__).resolve().parents[1]
STREETS = ("建设", "解放", "人民", "中山", "和平", "新华", "文化", "长江", "黄河", "光明", "工业", "学府")
STAGES = ("潜在客户", "新客户", "老客户", "已流失")


def district_prefixes() -> tuple[list[str], list[int]]:
    """Each active Chinese district's "省市区" text, and its weight (big cities heavier)."""
    regions = {r.pk: r for r in Region.objects.filter(path__startswith="CN/", is_active=True)}
    prefixes, weights = [], []
    for r in regions.values():
        if r.level != "district":
            continue
        names, p, city = [], r, None
        while p is not None:
            if p.level == "city":
                city = p.code
            if not names or names[-1] != p.name:
                names.append(p.name)
            p = regions.get(p.parent_id)
        prefixes.append("".join(reversed(names[:-1] if names[-1] == "中国" else names)))
        weights.append(BIG_CITIES.get(city or "", 1))
    return prefixes, weights


def write_csv(path: Path, start: int, count: int, owners: list[str]) -> None:
    rnd = random.Random(2034)
    fake = Faker("zh_CN")
    fake.seed_instance(2034)
    companies = list({fake.company() for _ in range(30_000)})
    people = list({fake.name() for _ in range(20_000)})
    prefixes, weights = district_prefixes()
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["外部编号", "客户名称", "类型", "阶段", "负责人", "手机", "地址"])
        for i in range(start, start + count):
            enterprise = rnd.random() < 0.7
            detail = f"{rnd.choice(STREETS)}{rnd.choice(STREET_SUFFIX)}{rnd.randint(1, 999)}号"
            if rnd.random() < 0.5:
                detail += f"{rnd.choice(STREETS)}{rnd.choice(BUILDING)}{rnd.randint(1, 30)}栋"
            w.writerow(
                [
                    f"L{i:08d}",
                    rnd.choice(companies) if enterprise else rnd.choice(people),
                    "企业" if enterprise else "个人",
                    rnd.choice(STAGES),
                    rnd.choice(owners),
                    f"1{rnd.choice('3456789')}{rnd.randrange(10**9):09d}",
                    rnd.choices(prefixes, weights)[0] + detail,
                ]
            )


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("n", nargs="?", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    if not get_user_model().objects.filter(username="sales").exists():
        call_command("seed_demo", customers=2000, verbosity=0)
    have = Customer.objects.count()
    if have >= args.n:
        print(f"{have:,} customers present (target {args.n:,})")
        return
    owners = ["sales", "sales2", "manager", "sales", "sales2", ""]
    path = ROOT / "var" / f"load-{args.n}.csv"
    path.parent.mkdir(exist_ok=True)
    started = time.perf_counter()
    write_csv(path, have, args.n - have, owners)
    print(f"generated {args.n - have:,} rows in {time.perf_counter() - started:.0f} s: {path}", flush=True)
    started = time.perf_counter()
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "import_customers", str(path), "--workers", str(args.workers)], check=True)
    print(f"imported in {time.perf_counter() - started:.0f} s", flush=True)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    print(f"{Customer.objects.count():,} customers")


if __name__ == "__main__":
    main()
