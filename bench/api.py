"""REST API and webhook figures (issue #31), on PostgreSQL.

Usage (the database is created and emptied by this script):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/dizhi_api_bench \\
        .venv/bin/python bench/api.py [--rows 100000] [--changes 10000] [--skip bulk,list,webhooks]

Prints, side by side:
- bulk upsert: `POST /api/v1/customers/bulk` (10,000 items a call, through Django's request
  handling in-process: JSON parsing, schema validation, the write path) against
  `manage.py import_customers` on the same rows (CSV), each on emptied tables: addresses/s;
- `GET /api/v1/customers/` p50/p95 over the rows then in the database, unfiltered and filtered
  (region, stage, text search), for a manager's token and a salesperson's;
- webhooks: `--changes` address changes delivered by `manage.py db_worker` (2 processes) to a
  receiver on 127.0.0.1 that fails 10% of attempts: lost, duplicates (every repeat must carry the
  same webhook-id and body), p50/p95 from commit to first attempt.
"""

import argparse
import csv
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STREETS = ("建设", "解放", "人民", "中山", "和平", "新华", "文化", "长江", "黄河", "光明")


def ensure_database():
    import psycopg

    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        sys.exit("set DATABASE_URL=postgres://postgres@127.0.0.1:5432/dizhi_api_bench")
    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as con:
        if not con.execute("select 1 from pg_database where datname = %s", [name]).fetchone():
            con.execute(f'create database "{name}"')


def manage(*args, env=None, **kw):
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args], cwd=ROOT, check=True, env=env or os.environ, **kw
    )


def empty_tables():
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            "TRUNCATE addresses_addressversion, addresses_address_categories, addresses_address, "
            "customers_customer, addresses_mapcell, api_webhookattempt, api_webhookdelivery, "
            "api_idempotencyrecord RESTART IDENTITY CASCADE"
        )
    from imports.models import ImportCheckpoint, ImportJob

    ImportCheckpoint.objects.all().delete()  # an import is resumable: forget the last run
    ImportJob.objects.all().delete()


def generate(rows: int, seed: int = 7) -> list[dict]:
    """Customers with one free-text address each, in districts of the loaded tree."""
    from geo.models import Region

    rnd = random.Random(seed)
    districts = list(
        Region.objects.filter(level="district", is_active=True, code__regex=r"^\d{6}$")
        .select_related("parent", "parent__parent")
        .order_by("code")
    )
    items = []
    for i in range(rows):
        d = rnd.choice(districts)
        chain = "".join(
            r.name for r in (d.parent.parent, d.parent, d) if r is not None and r.level != "country"
        )
        text = f"{chain}{rnd.choice(STREETS)}路{rnd.randint(1, 999)}号"
        items.append({"external_id": f"B{i:07d}", "name": f"客户{i:07d}", "addresses": [{"raw_text": text}]})
    return items


def users():
    from django.contrib.auth.models import Group, User

    from api.services import token_create
    from crm import roles

    manager, _ = User.objects.get_or_create(username="bench-manager")
    manager.groups.add(Group.objects.get(name=roles.MANAGER))
    sales, _ = User.objects.get_or_create(username="bench-sales")
    sales.groups.add(Group.objects.get(name=roles.SALES))
    return (
        manager,
        sales,
        token_create(user=manager, name="bench", scope="write").plaintext,
        token_create(user=sales, name="bench", scope="read").plaintext,
    )


def client(token):
    from django.test import Client

    return Client(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_HOST="127.0.0.1")


def bench_bulk(items, token):
    from addresses.models import Address

    empty_tables()
    c = client(token)
    started = time.perf_counter()
    for start in range(0, len(items), 10_000):
        response = c.post(
            "/api/v1/customers/bulk",
            {"items": items[start : start + 10_000]},
            content_type="application/json",
        )
        assert response.status_code == 200, response.content[:500]
        body = response.json()
        assert body["rejected"] == 0, body["items"][:3]
    api_seconds = time.perf_counter() - started
    api_addresses = Address.objects.count()

    empty_tables()
    with tempfile.NamedTemporaryFile("w", suffix=".csv", newline="", delete=False, encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["external_id", "name", "address"])
        for it in items:
            writer.writerow([it["external_id"], it["name"], it["addresses"][0]["raw_text"]])
        path = f.name
    started = time.perf_counter()
    manage("import_customers", path, stdout=subprocess.DEVNULL)
    import_seconds = time.perf_counter() - started
    os.unlink(path)
    import_addresses = Address.objects.count()
    print(f"\nbulk upsert of {len(items):,} customers with one free-text address each (empty tables each)")
    print(
        f"  POST /api/v1/customers/bulk  {api_seconds:7.1f} s  {api_addresses / api_seconds:8,.0f} addresses/s"
    )
    print(
        f"  import_customers (CSV)       {import_seconds:7.1f} s  {import_addresses / import_seconds:8,.0f} addresses/s"
    )


def _percentiles(samples):
    samples = sorted(samples)
    return samples[len(samples) // 2] * 1000, samples[int(len(samples) * 0.95) - 1] * 1000


def bench_list(manager_token, sales_token, sales, repeat: int):
    from customers.models import Customer
    from customers.services import territory_assign
    from geo.models import Region

    territory_assign(user=sales, region=Region.objects.get(code="440000"))
    total = Customer.objects.count()
    print(
        f"\nGET /api/v1/customers/ (limit 50, addresses included) at {total:,} customers, {repeat} requests each"
    )
    cases = [
        ("no filter", {}),
        ("region=440300", {"region": "440300"}),
        ("stage=potential", {"stage": "potential"}),
        ("q=客户00012", {"q": "客户00012"}),
        ("sort=-created", {"sort": "-created"}),
    ]
    for who, token in (("manager", manager_token), ("sales (Guangdong)", sales_token)):
        c = client(token)
        for label, params in cases:
            c.get("/api/v1/customers/", params)  # warm
            times = []
            for _ in range(repeat):
                started = time.perf_counter()
                response = c.get("/api/v1/customers/", params)
                times.append(time.perf_counter() - started)
                assert response.status_code == 200
            p50, p95 = _percentiles(times)
            print(f"  {who:18s} {label:18s} p50 {p50:6.1f} ms   p95 {p95:6.1f} ms")


class Receiver:
    """A webhook receiver on 127.0.0.1 failing 10% of attempts at random."""

    def __init__(self, fail_rate=0.1):
        self.received = {}  # message id -> [(time, body)]
        self.lock = threading.Lock()
        rnd = random.Random(3)
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with outer.lock:
                    fail = rnd.random() < fail_rate
                    outer.received.setdefault(self.headers["webhook-id"], []).append(
                        (time.time(), body, fail)
                    )
                self.send_response(500 if fail else 204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def bench_webhooks(changes: int, manager):
    from django.conf import settings
    from django.test.utils import override_settings
    from django_tasks_db.models import DBTaskResult

    from addresses.models import Address
    from addresses.services import AddressInput, addresses_save
    from api.models import WebhookDelivery, WebhookEndpoint
    from api.services import webhook_endpoint_create

    WebhookEndpoint.objects.all().delete()  # a previous run's endpoints, deliveries
    DBTaskResult.objects.all().delete()  # and queued tasks
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True
    receiver = Receiver()
    endpoint = webhook_endpoint_create(actor=manager, url=receiver.url, events=["address.updated"])
    env = {
        **os.environ,
        "TASKS_BACKEND": "database",
        "WEBHOOK_ALLOW_PRIVATE_URLS": "true",
        "WEBHOOK_RETRY_BASE_SECONDS": "1",
    }
    workers = [
        subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), "db_worker"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(2)
    ]
    override_settings(TASKS={"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}).enable()
    try:
        ids = list(Address.objects.order_by("pk").values_list("pk", "version")[:changes])
        assert len(ids) == changes, f"need {changes} addresses: run the bulk part first"
        started = time.time()
        stamp = int(started) % 900_000 + 100_000  # a postcode no earlier run wrote: every item changes
        for start in range(0, changes, 500):  # batches of 500 changes, like a busy integration
            items = [
                AddressInput(address_id=pk, expected_version=v, postcode=str(stamp))
                for pk, v in ids[start : start + 500]
            ]
            addresses_save(items=items, channel="api")
        written = time.time() - started
        deadline = time.time() + 1800
        while time.time() < deadline:
            pending = WebhookDelivery.objects.filter(endpoint=endpoint).exclude(status="delivered").count()
            if not pending:
                break
            time.sleep(1)
        elapsed = time.time() - started
    finally:
        for w in workers:
            w.terminate()
        for w in workers:
            w.wait(timeout=30)
        receiver.server.shutdown()
    deliveries = {d.message_id: d for d in WebhookDelivery.objects.filter(endpoint=endpoint)}
    delivered_ok = {m for m, hits in receiver.received.items() if any(not fail for _t, _b, fail in hits)}
    lost = len(set(deliveries) - delivered_ok)
    repeats = sum(len(h) - 1 for h in receiver.received.values())
    consistent = all(len({b for _t, b, _f in h}) == 1 for h in receiver.received.values())
    lag = [
        receiver.received[m][0][0] - d.committed_at.timestamp()
        for m, d in deliveries.items()
        if m in receiver.received
    ]
    p50, p95 = (
        (statistics.median(lag) * 1000, sorted(lag)[int(len(lag) * 0.95) - 1] * 1000) if lag else (0, 0)
    )
    print(
        f"\nwebhooks: {changes:,} address changes → {len(deliveries):,} messages, receiver failing 10%, 2 db_workers"
    )
    print(f"  changes written in {written:.1f} s; all answered 2xx {elapsed:.1f} s after the first write")
    print(
        f"  lost (never answered 2xx) {lost}; repeated attempts {repeats:,} (same webhook-id and body: {consistent})"
    )
    print(f"  commit → first attempt: p50 {p50:.0f} ms, p95 {p95:.0f} ms")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--changes", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--skip", default="")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    os.environ.setdefault("ALLOW_PLAIN_HTTP", "true")  # requests made in-process, over plain HTTP
    ensure_database()
    manage("migrate", "-v0")
    manage("load_regions", stdout=subprocess.DEVNULL)
    sys.path.insert(0, str(Path(__file__).parent))
    import _django  # noqa: F401
    from django.conf import settings
    from django.test.utils import override_settings

    settings.ALLOWED_HOSTS = ["*"]
    settings.API_RATE_LIMIT_PER_MINUTE = 0
    override_settings(
        TASKS={"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    ).enable()
    manager, sales, manager_token, sales_token = users()
    items = generate(args.rows)
    if "bulk" not in skip:
        bench_bulk(items, manager_token)
        empty_tables()
        bench_bulk_fill = client(manager_token)
        for start in range(0, len(items), 10_000):
            bench_bulk_fill.post(
                "/api/v1/customers/bulk",
                {"items": items[start : start + 10_000]},
                content_type="application/json",
            )
    if "list" not in skip:
        bench_list(manager_token, sales_token, sales, args.repeat)
    if "webhooks" not in skip:
        bench_webhooks(args.changes, manager)


if __name__ == "__main__":
    main()
