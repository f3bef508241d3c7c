"""Bulk import and export figures, side by side, on one generated file.

Usage (PostgreSQL; the database is created and emptied by this script):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/dizhi_import_bench \\
        .venv/bin/python bench/import.py [--rows 1000000] [--workers 2] [--peer-rows 20000]

Prints, for the same file of free-text Chinese addresses (~30 characters, like
seed_demo's): Dizhi's import end to end (parse, offline geocode, write, history;
rows/s and peak RSS of the import processes), the CSV, XLSX and GeoJSON exports of everything, the
import of that XLSX export as a new file (what a manager uploads from Excel), the
validation of the file (`--dry-run`, the upload page's preview, on empty tables),
raw PostgreSQL COPY into the same tables (the physical limit), and
django-import-export with a default ModelResource (the peer, on the first
--peer-rows rows; installed with pip --target under var/bench-deps/, never into
the project).
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


def machine_busy() -> float:
    """CPU seconds the whole machine has spent busy so far, over all cores (Linux /proc/stat;
    0 elsewhere)."""
    try:
        with open("/proc/stat") as f:
            user, nice, system, _idle, _iowait, irq, softirq = map(int, f.readline().split()[1:8])
    except OSError:
        return 0.0
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def timed_child(args):
    """Run a command; (seconds, peak RSS in MB of the child processes, stdout, CPU seconds of
    the child processes, CPU seconds of the whole machine)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    busy = machine_busy()
    started = time.perf_counter()
    proc = subprocess.run(args, cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    busy = machine_busy() - busy
    if proc.returncode:
        sys.exit(proc.stderr[-3000:])
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return seconds, max(after.ru_maxrss, before.ru_maxrss) / 1024, proc.stdout, cpu, busy


def cpu_line(rows: int, seconds: float, cpu: float, busy: float, target: int = 30_000) -> str:
    """Where a run's CPU went: the import's processes against PostgreSQL (and whatever else ran:
    the machine's busy time less theirs), per row, beside what `target` rows/s would allow."""
    cores = os.cpu_count() or 1
    if not busy:
        return f"  CPU: import processes {cpu:.0f} s ({cpu / rows * 1e6:.0f} µs a row)"
    return (
        f"  CPU: {busy:.0f} core-seconds in {seconds:.0f} s on {cores} cores "
        f"({busy / (seconds * cores):.0%} busy): import processes {cpu:.0f} ({cpu / rows * 1e6:.0f} µs a row), "
        f"PostgreSQL and the rest {busy - cpu:.0f} ({(busy - cpu) / rows * 1e6:.0f} µs a row); "
        f"{target:,} rows/s on {cores} cores allows {cores / target * 1e6:.0f} µs a row in all"
    )


def raw_copy(path: Path, rows: int, connections_n: int = 1) -> tuple[float, float]:
    """COPY the file's rows into customers, addresses and history with every column the import
    fills (a district chain, its centroid, map key, search keys, a snapshot of the same size),
    in binary like the import, one transaction per batch of the import's size, over `connections_n` connections at
    once (batches dealt out in turn, as the import's workers share the file); nothing parsed,
    validated or geocoded, no map cells (the physical limit of the tables' rows and indexes).
    Each connection's process builds all its rows first; only the COPYs and commits are timed,
    from the moment every process is ready to the last commit. Returns those seconds and the
    machine's CPU seconds over them."""
    import multiprocessing

    from django.db import connections

    from imports.workers import default_batch_size

    batch = default_batch_size(rows)
    connections.close_all()  # each process opens its own
    ctx = multiprocessing.get_context("fork")
    ready = ctx.Barrier(connections_n + 1)
    procs = [
        ctx.Process(target=_raw_copy_part, args=(path, i, connections_n, batch, ready))
        for i in range(connections_n)
    ]
    for proc in procs:
        proc.start()
    ready.wait()
    started, busy_before = time.perf_counter(), machine_busy()
    for proc in procs:
        proc.join()
    seconds, busy = time.perf_counter() - started, machine_busy() - busy_before
    if any(proc.exitcode for proc in procs):
        sys.exit("raw COPY failed")
    from django.db import connection

    with connection.cursor() as cur:  # the sequences after explicit ids, for the runs that follow
        for table in ("customers_customer", "addresses_address"):
            cur.execute(
                f"select setval(pg_get_serial_sequence('{table}', 'id'), (select max(id) from {table}))"
            )
    return seconds, busy


def _raw_copy_part(path: Path, part: int, parts: int, batch: int, ready) -> None:
    """One connection of raw_copy: build the rows of every `parts`-th batch, wait, COPY them."""
    from django.db import connection, transaction

    from addresses.models import Address, AddressVersion
    from crm.db.bulk_insert import copy_rows
    from customers.models import Customer

    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        next(reader)
        rows = list(reader)
    builder = _RawRows(_district_chains())
    batches = [
        builder.batch(rows[lo : lo + batch], first=lo + 1)
        for lo in range(part * batch, len(rows), parts * batch)
    ]
    del rows
    connection.ensure_connection()
    ready.wait()
    tables = [(Customer, builder.c_fields), (Address, builder.a_fields), (AddressVersion, builder.v_fields)]
    for batch_rows in batches:
        with transaction.atomic():
            for (model, fields), table_rows in zip(tables, batch_rows):
                copy_rows(connection, model._meta.db_table, [f.column for f in fields], table_rows)
    connection.close()


def _district_chains() -> list[tuple]:
    """(region, country, province, city, district, lat, lng, code, name) of every located Chinese district."""
    from geo.models import Region

    by_id = {r.pk: r for r in Region.objects.filter(path__startswith="CN/", is_active=True)}
    country = Region.objects.get(code="CN").pk
    chains = []
    for r in by_id.values():
        if r.level != "district" or r.lat is None:
            continue
        levels, p = {}, r
        while p is not None:
            levels[p.level] = p.pk
            p = by_id.get(p.parent_id)
        chains.append(
            (r.pk, country, levels.get("province"), levels.get("city"), r.pk, r.lat, r.lng, r.code, r.name)
        )
    return chains


class _RawRows:
    """The customer, address and history rows the import would write for a file row, ready for COPY
    (located at a district centre, as the offline geocoder does)."""

    def __init__(self, chains: list[tuple]):
        from django.utils import timezone

        from addresses.models import Address, AddressVersion
        from customers.models import Customer

        self.chains, self.now = chains, timezone.now()
        self.c_fields = list(Customer._meta.concrete_fields)
        self.a_fields = list(Address._meta.concrete_fields)
        self.v_fields = [f for f in AddressVersion._meta.concrete_fields if not f.primary_key]

    def batch(self, rows: list[list[str]], *, first: int) -> tuple[list, list, list]:
        customers, addresses, versions = [], [], []
        for i, (ext, name, phone, address) in enumerate(rows, first):
            chain = self.chains[i % len(self.chains)]
            customers.append([self.customer(i, ext, name, phone)[f.attname] for f in self.c_fields])
            addresses.append([self.address(i, name, address, chain)[f.attname] for f in self.a_fields])
            versions.append([self.version(i, address, chain)[f.attname] for f in self.v_fields])
        return customers, addresses, versions

    def customer(self, i: int, ext: str, name: str, phone: str) -> dict:
        from crm.db.search_keys import search_keys

        return {
            "id": i, "name": name, "kind": "enterprise", "stage": "potential", "owner_id": None, "phone": phone,
            "email": "", "external_id": ext, "search_keys": search_keys(name), "created_at": self.now,
            "updated_at": self.now,
        }  # fmt: skip

    def address(self, i: int, name: str, address: str, chain: tuple) -> dict:
        from crm.db.search_keys import search_keys
        from geo import mapmath

        region, country, province, city, district, lat, lng, _code, _name = chain
        detail = address[6:]
        return {
            "id": i, "customer_id": i, "kind": "delivery", "is_primary": True, "raw_text": address,
            "detail": detail, "postcode": "", "region_id": region, "country_id": country,
            "province_id": province, "city_id": city, "district_id": district, "lat": lat, "lng": lng,
            "precision": "district", "geocode_source": "offline", "verified_at": None, "version": 1,
            "created_at": self.now, "updated_at": self.now, "search_keys": search_keys(address, detail),
            "map_key": mapmath.map_key(lat, lng), "customer_name": name, "customer_stage": "potential",
            "customer_kind": "enterprise", "customer_owner_id": None,
            "customer_scopes": f" r{country} r{province} r{city} r{district} ",
        }  # fmt: skip

    def version(self, i: int, address: str, chain: tuple) -> dict:
        from crm.db.bulk_insert import JsonText

        _region, _country, _province, _city, _district, lat, lng, code, region_name = chain
        after = json.dumps(
            {
                "categories": [], "detail": address[6:], "geocode_source": "offline", "is_primary": True,
                "kind": "delivery", "lat": str(lat), "lng": str(lng), "postcode": "", "precision": "district",
                "raw_text": address, "region": code, "region_name": region_name, "verified_at": None,
            },
            ensure_ascii=False, separators=(",", ":"), sort_keys=True,
        )  # fmt: skip
        return {
            "address_id": i, "customer_id": i, "version": 1, "actor_id": None, "actor_name": "", "channel": "import",
            "created_at": self.now, "before": None, "after": JsonText(after),
            "changed_fields": JsonText(json.dumps(sorted(json.loads(after)))), "prev_hash": "", "hash": "0" * 64,
        }  # fmt: skip


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
    args = _arguments()
    ensure_database()
    manage("migrate", "-v0")
    manage("load_regions", "-v0")
    sys.path.insert(0, str(ROOT / "bench"))
    import _django  # noqa: F401

    work = ROOT / "var" / "bench-import"
    work.mkdir(parents=True, exist_ok=True)
    path = _the_file(work, args.rows)
    _print_setup(path)
    cmd = [
        sys.executable, str(ROOT / "manage.py"), "import_customers", str(path), "--progress", "none",
        "--workers", str(args.workers), "--report", str(work / "rejected.csv"),
    ]  # fmt: skip
    bench_import(cmd, args)
    if "export" not in args.skip:
        bench_exports(work)
    if "xlsx" not in args.skip and (work / "export.xlsx").exists():
        bench_xlsx_import(cmd, work / "export.xlsx", args)
    if "dry" not in args.skip:
        bench_dry_run(cmd, args)
    if "copy" not in args.skip:
        bench_raw_copy(path, args)
    if "peer" not in args.skip:
        empty_tables()
        seconds, n = peer(path, args.peer_rows)
        print(
            f"django-import-export default ModelResource (customers only, first {n:,} rows): "
            f"{seconds:.1f} s = {n / seconds:,.0f} rows/s"
        )
    empty_tables()


def _arguments():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--peer-rows", type=int, default=20_000)
    parser.add_argument("--skip", action="append", default=[], help="dry, copy, peer, export, xlsx")
    return parser.parse_args()


def _the_file(work: Path, rows: int) -> Path:
    """The generated CSV of `rows` rows (made once, reused by later runs)."""
    path = work / f"customers-{rows}.csv"
    if not path.exists():
        t = time.perf_counter()
        generate(path, rows)
        print(
            f"generated {path.name}: {rows:,} rows, {path.stat().st_size / 1e6:.0f} MB in {time.perf_counter() - t:.0f} s"
        )
    return path


def _print_setup(path: Path) -> None:
    """The database, its settings that matter for bulk writes, the address length and the load."""
    from django.db import connection

    with open(path, encoding="utf-8") as f:
        next(f)
        avg = sum(len(line.rsplit(",", 1)[1]) - 1 for _i, line in zip(range(10000), f)) / 10000
    with connection.cursor() as cur:
        cur.execute(
            "select string_agg(name || '=' || current_setting(name), ', ' order by name) from pg_settings "
            "where name in ('shared_buffers', 'max_wal_size', 'checkpoint_timeout', 'autovacuum', 'wal_compression')"
        )
        settings_text = cur.fetchone()[0]
    print(
        f"database: {connection.vendor} {connection.settings_dict['NAME']} ({settings_text}); "
        f"addresses ~{avg:.0f} characters; load average {os.getloadavg()[0]:.1f}"
    )


def bench_import(cmd: list[str], args) -> None:
    """The import into empty tables, then the same file again (nothing changes)."""
    empty_tables()
    seconds, rss, out, cpu, busy = timed_child(cmd)
    c = counts()
    print(
        f"dizhi import_customers (--workers {args.workers}): {args.rows:,} rows in {seconds:.1f} s = "
        f"{args.rows / seconds:,.0f} rows/s, peak RSS {rss:,.0f} MB (largest process)"
    )
    print(f"  rows: customers {c[0]:,}, addresses {c[1]:,}, history {c[2]:,}")
    print("  " + out.strip().replace("\n", "\n  "))
    print(cpu_line(args.rows, seconds, cpu, busy))
    seconds2, _rss, out2, *_cpu = timed_child(cmd)
    print(
        f"  re-run of the same file: {seconds2:.1f} s = {args.rows / seconds2:,.0f} rows/s: "
        f"{out2.strip().splitlines()[-1]}"
    )


def bench_exports(work: Path) -> None:
    """Everything exported as CSV, XLSX and GeoJSON."""
    addresses = counts()[1]
    for fmt in ("csv", "xlsx", "geojson"):
        out_file = work / f"export.{fmt}"
        seconds, _rss, _o, *_cpu = timed_child(
            [
                sys.executable,
                str(ROOT / "manage.py"),
                "export_customers",
                "--format",
                fmt,
                "-o",
                str(out_file),
            ]
        )
        print(
            f"export_customers {fmt.upper()}: {addresses:,} rows in {seconds:.1f} s = "
            f"{addresses / seconds:,.0f} rows/s, {out_file.stat().st_size / 1e6:.0f} MB"
        )


def bench_xlsx_import(cmd: list[str], xlsx: Path, args) -> None:
    """The exported workbook imported as a new file: every row created."""
    empty_tables()
    seconds, rss, out, *_cpu = timed_child([*cmd[:3], str(xlsx), *cmd[4:]])
    c = counts()
    print(
        f"dizhi import_customers of that XLSX export (--workers {args.workers}): {c[1]:,} rows in "
        f"{seconds:.1f} s = {c[1] / seconds:,.0f} rows/s, peak RSS {rss:,.0f} MB"
    )
    print("  " + out.strip().replace("\n", "\n  "))


def bench_dry_run(cmd: list[str], args) -> None:
    """A new file's preview on empty tables: every row validated, none written."""
    empty_tables()
    seconds, _rss, out, cpu, busy = timed_child([*cmd, "--dry-run"])
    print(
        f"dizhi import_customers --dry-run (validation, the upload page's preview; --workers {args.workers}): "
        f"{args.rows:,} rows in {seconds:.1f} s = {args.rows / seconds:,.0f} rows/s"
    )
    print(f"  {'; '.join(out.strip().splitlines())}; rows written: {sum(counts())}")
    print(cpu_line(args.rows, seconds, cpu, busy))


def bench_raw_copy(path: Path, args) -> None:
    """The physical limit: the same rows, ready-built, COPYed over one and over `workers` connections."""
    for n in sorted({1, args.workers}):
        empty_tables()
        seconds, busy = raw_copy(path, args.rows, n)
        print(
            f"raw PostgreSQL COPY (customers + addresses + history, nothing parsed; "
            f"{n} connection{'s' if n > 1 else ''}): {seconds:.1f} s = {args.rows / seconds:,.0f} rows/s"
        )
        if busy:
            print(
                f"  CPU: {busy:.0f} core-seconds in {seconds:.0f} s ({busy / args.rows * 1e6:.0f} µs a row, client included)"
            )


if __name__ == "__main__":
    main()
