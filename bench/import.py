"""Bulk import and export figures, side by side, on one generated file.

Usage (PostgreSQL; the database is created and emptied by this script):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/dizhi_import_bench \\
        .venv/bin/python bench/import.py [--rows 1000000] [--workers 2] [--peer-rows 20000]

Prints, for the same file of free-text Chinese addresses (~30 characters, like
seed_demo's): Dizhi's import end to end (parse, offline geocode, write, history;
rows/s and peak RSS of the import processes), raw PostgreSQL COPY into the same
tables (the physical limit), django-import-export with a default ModelResource
(the peer, on the first --peer-rows rows; installed with pip --target under
var/bench-deps/, never into the project), and the CSV export of everything.
"""

import argparse
import csv
import json
import os
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

from _deps import pip_target

ROOT = Path(__file__).resolve().parents[1]
DEPS = ROOT / "var" / "bench-deps" / "import-export"
BUILDINGS = ("大厦", "广场", "中心", "花园", "小区", "科技园", "产业园")
STREETS = ("建设", "解放", "人民", "中山", "和平", "新华", "文化", "长江", "黄河", "光明", "工业", "学府")
SUFFIX = ("路", "街", "大道", "大街")


def ensure_database():
    import psycopg

    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        sys.exit("set DATABASE_URL=postgres://postgres@127.0.0.1:5432/dizhi_import_bench")
    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as con:
        if not con.execute("select 1 from pg_database where datname = %s", [name]).fetchone():
            con.execute(f'create database "{name}"')


def manage(*args, **kw):
    return subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], cwd=ROOT, check=True, **kw)


def generate(path: Path, rows: int):
    import _django  # noqa: F401

    from geo.models import Region

    regions = {r.pk: r for r in Region.objects.filter(path__startswith="CN/", is_active=True)}
    prefixes = []
    for r in regions.values():
        if r.level != "district":
            continue
        names, p = [], r
        while p is not None:
            if not names or names[-1] != p.name:
                names.append(p.name)
            p = regions.get(p.parent_id)
        prefixes.append("".join(reversed(names[:-1] if names[-1] == "中国" else names)))
    rnd = random.Random(2026)
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["外部编号", "客户名称", "手机", "地址"])
        for i in range(rows):
            detail = f"{rnd.choice(STREETS)}{rnd.choice(SUFFIX)}{rnd.randint(1, 999)}号"
            if rnd.random() < 0.5:
                detail += f"{rnd.choice(STREETS)}{rnd.choice(BUILDINGS)}{rnd.randint(1, 30)}栋{rnd.randint(1, 30)}0{rnd.randint(1, 9)}室"
            w.writerow(
                [
                    f"B{i:08d}",
                    f"客户{i}",
                    f"1{rnd.choice('3456789')}{rnd.randrange(10**9):09d}",
                    rnd.choice(prefixes) + detail,
                ]
            )


def empty_tables():
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            "truncate addresses_addressversion, addresses_address_categories, addresses_address, "
            "addresses_importcheckpoint, addresses_importjob, addresses_mapcell, customers_customer restart identity cascade"
        )
    connection.close()


def counts():
    from django.db import connection

    with connection.cursor() as cur:
        out = []
        for table in ("customers_customer", "addresses_address", "addresses_addressversion"):
            cur.execute(f"select count(*) from {table}")
            out.append(cur.fetchone()[0])
    return out


def timed_child(args):
    """Run a command; (seconds, peak RSS in MB of the child processes, stdout)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    proc = subprocess.run(args, cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if proc.returncode:
        sys.exit(proc.stderr[-3000:])
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return seconds, max(peak, before) / 1024, proc.stdout


def raw_copy(path: Path) -> float:
    """COPY the file's rows into customers, addresses and history, nothing parsed (the physical limit)."""
    from django.db import connection

    connection.ensure_connection()
    con = connection.connection
    started = time.perf_counter()
    with open(path, encoding="utf-8", newline="") as f, con.cursor() as cur:
        reader = csv.reader(f)
        next(reader)
        rows = list(reader)
        now = "2026-01-01 00:00:00+00"
        with cur.copy(
            "copy customers_customer (id, name, kind, stage, phone, email, external_id, created_at, "
            "updated_at) from stdin"
        ) as copy:
            for i, (ext, name, phone, _a) in enumerate(rows, 1):
                copy.write_row((i, name, "enterprise", "potential", phone, "", ext, now, now))
        with cur.copy(
            "copy addresses_address (id, customer_id, kind, is_primary, raw_text, detail, postcode, "
            "precision, geocode_source, version, created_at, updated_at, customer_name, customer_stage, "
            "customer_kind, customer_scopes) "
            "from stdin"
        ) as copy:
            for i, (_e, name, _p, address) in enumerate(rows, 1):
                copy.write_row(
                    (
                        i,
                        i,
                        "delivery",
                        True,
                        address,
                        address,
                        "",
                        "none",
                        "",
                        1,
                        now,
                        now,
                        name,
                        "potential",
                        "enterprise",
                        "",
                    )
                )
        with cur.copy(
            "copy addresses_addressversion (address_id, customer_id, version, channel, created_at, "
            "after, changed_fields, prev_hash, hash) from stdin"
        ) as copy:
            for i, (_e, _n, _p, address) in enumerate(rows, 1):
                copy.write_row(
                    (
                        i,
                        i,
                        1,
                        "import",
                        now,
                        json.dumps({"raw_text": address}, ensure_ascii=False),
                        "[]",
                        "",
                        "0" * 64,
                    )
                )
    con.commit()
    return time.perf_counter() - started


def peer(path: Path, rows: int) -> tuple[float, int]:
    """django-import-export, default ModelResource for Customer (its own process, its own sys.path)."""
    if not (DEPS / "import_export").exists():
        pip_target(DEPS, "django-import-export", "tablib", "diff-match-patch", no_deps=True)
    sample = path.with_name("peer.csv")
    with open(path, encoding="utf-8") as src, open(sample, "w", encoding="utf-8") as dst:
        dst.write("external_id,name,phone\n")
        next(src)
        for _i, line in zip(range(rows), src):
            ext, name, phone, _a = next(csv.reader([line]))
            dst.write(f"{ext},{name},{phone}\n")
    code = f"""
import sys, time
sys.path.insert(0, {str(DEPS)!r}); sys.path.insert(0, {str(ROOT / "bench")!r})
import _django
import tablib
from import_export import resources
from customers.models import Customer
class R(resources.ModelResource):
    class Meta:
        model = Customer
        import_id_fields = ("external_id",)
        fields = ("external_id", "name", "phone")
data = tablib.Dataset().load(open({str(sample)!r}, encoding="utf-8").read(), format="csv")
t = time.perf_counter()
result = R().import_data(data, dry_run=False)
print(time.perf_counter() - t, result.totals)
"""
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    if out.returncode:
        return float("nan"), 0
    return float(out.stdout.split()[0]), rows


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--peer-rows", type=int, default=20_000)
    parser.add_argument("--skip", action="append", default=[], help="copy, peer, export")
    args = parser.parse_args()
    ensure_database()
    manage("migrate", "-v0")
    manage("load_regions", "-v0")
    sys.path.insert(0, str(ROOT / "bench"))
    import _django  # noqa: F401
    from django.db import connection

    work = ROOT / "var" / "bench-import"
    work.mkdir(parents=True, exist_ok=True)
    path = work / f"customers-{args.rows}.csv"
    if not path.exists():
        t = time.perf_counter()
        generate(path, args.rows)
        print(
            f"generated {path.name}: {args.rows:,} rows, {path.stat().st_size / 1e6:.0f} MB "
            f"in {time.perf_counter() - t:.0f} s"
        )
    with open(path, encoding="utf-8") as f:
        next(f)
        avg = sum(len(line.rsplit(",", 1)[1]) - 1 for _i, line in zip(range(10000), f)) / 10000
    print(
        f"database: {connection.vendor} {connection.settings_dict['NAME']}; addresses ~{avg:.0f} characters"
    )

    empty_tables()
    cmd = [
        sys.executable,
        str(ROOT / "manage.py"),
        "import_customers",
        str(path),
        "--progress",
        "none",
        "--workers",
        str(args.workers),
        "--report",
        str(work / "rejected.csv"),
    ]
    seconds, rss, out = timed_child(cmd)
    c = counts()
    print(
        f"dizhi import_customers (--workers {args.workers}): {args.rows:,} rows in {seconds:.1f} s = "
        f"{args.rows / seconds:,.0f} rows/s, peak RSS {rss:,.0f} MB (largest process)"
    )
    print(f"  rows: customers {c[0]:,}, addresses {c[1]:,}, history {c[2]:,}")
    print("  " + out.strip().replace("\n", "\n  "))
    seconds2, _rss, out2 = timed_child(cmd)
    print(
        f"  re-run of the same file: {seconds2:.1f} s = {args.rows / seconds2:,.0f} rows/s: "
        f"{out2.strip().splitlines()[-1]}"
    )

    if "export" not in args.skip:
        out_file = work / "export.csv"
        seconds, rss, _o = timed_child(
            [sys.executable, str(ROOT / "manage.py"), "export_customers", "-o", str(out_file)]
        )
        print(
            f"export_customers CSV: {c[1]:,} rows in {seconds:.1f} s = {c[1] / seconds:,.0f} rows/s, "
            f"{out_file.stat().st_size / 1e6:.0f} MB"
        )

    if "copy" not in args.skip:
        empty_tables()
        seconds = raw_copy(path)
        print(
            f"raw PostgreSQL COPY (customers + addresses + history, nothing parsed): {seconds:.1f} s = "
            f"{args.rows / seconds:,.0f} rows/s"
        )

    if "peer" not in args.skip:
        empty_tables()
        seconds, n = peer(path, args.peer_rows)
        print(
            f"django-import-export default ModelResource (customers only, first {n:,} rows): "
            f"{seconds:.1f} s = {n / seconds:,.0f} rows/s"
        )
    empty_tables()


if __name__ == "__main__":
    main()
