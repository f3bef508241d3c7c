"""Time `verify_history` over a large address history (issue #30: 1,000,000 versions in at most
60 s on PostgreSQL).

Usage: DATABASE_URL=postgres://.../dizhi_bench python bench/verify_history.py [VERSIONS] [--fresh]
Adds VERSIONS history rows (default 1,000,000: a quarter as many addresses, four versions each,
with the write path's snapshot shape and keyed hashes) to the configured, migrated database,
then runs the verifier and prints rows/s. --fresh empties customers, addresses and history first
(PostgreSQL only, as a maintenance session).
"""

import argparse
import os
import time

import _django  # noqa: F401
from django.db import connection, transaction
from django.utils import timezone

from addresses import history
from addresses.models import Address, AddressVersion, HistoryHead
from addresses.services import _snapshot_json
from crm.db.bulk_insert import JsonText, bulk_insert, bulk_insert_rows
from customers.models import Customer
from trust.history import history_verify

PER_ADDRESS = 4
BATCH = 5000
FIELDS = (
    "address_id", "customer_id", "version", "actor_id", "actor_name", "channel", "created_at",
    "before", "after", "changed_fields", "prev_hash", "hash",
)  # fmt: skip


def _snapshot(n: int, version: int) -> dict:
    return {
        "kind": "delivery", "is_primary": True, "raw_text": f"广东省深圳市南山区科技园{n}号",
        "detail": f"科技园{n}号{'A' * version}", "postcode": "518057", "region": "440305",
        "region_name": "南山区", "lat": "22.540000", "lng": "113.950000", "precision": "district",
        "geocode_source": "offline", "verified_at": None, "categories": [],
    }  # fmt: skip


def seed(versions: int) -> None:
    addresses = versions // PER_ADDRESS
    now = timezone.now()
    base = history.batch_mac(actor_id=None, actor_name="bench", channel="import", created_at=now)
    for start in range(0, addresses, BATCH):
        n = min(BATCH, addresses - start)
        with transaction.atomic():
            customers = bulk_insert(Customer, [Customer(name=f"客户{start + i}") for i in range(n)], now=now)
            rows = [
                Address(customer_id=c.pk, raw_text="x", version=PER_ADDRESS, customer_name=c.name)
                for c in customers
            ]
            bulk_insert(Address, rows, now=now)
            out, heads = [], []
            for i, a in enumerate(rows):
                prev, before = "", None
                for v in range(1, PER_ADDRESS + 1):
                    after = _snapshot(start + i, v)
                    before_json = "null" if before is None else _snapshot_json(before)
                    after_json = _snapshot_json(after)
                    changed = '["detail"]' if before else history.canonical_json(sorted(after))
                    h = history.row_mac(
                        base, address_id=a.pk, customer_id=a.customer_id, version=v, before=before_json,
                        after=after_json, changed=changed, prev_hash=prev,
                    )  # fmt: skip
                    out.append(
                        (a.pk, a.customer_id, v, None, "bench", "import", now,
                         None if before is None else JsonText(before_json), JsonText(after_json),
                         JsonText(changed), prev, h)
                    )  # fmt: skip
                    prev, before = h, after
                heads.append(HistoryHead(address_id=a.pk, version=PER_ADDRESS, hash=prev))
            bulk_insert_rows(AddressVersion, FIELDS, out)
            HistoryHead.objects.bulk_create(heads)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("versions", nargs="?", type=int, default=1_000_000)
    parser.add_argument("--fresh", action="store_true")
    args = parser.parse_args()
    if args.fresh and connection.vendor == "postgresql":
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute("SET LOCAL dizhi.history_maintenance = 'on'")
            cur.execute(
                "truncate addresses_addressversion, addresses_historyhead, addresses_address_categories, "
                "addresses_address, addresses_mapcell, customers_customer restart identity cascade"
            )
    have = AddressVersion.objects.count()
    if have < args.versions:
        started = time.perf_counter()
        seed(args.versions - have)
        print(f"seeded {args.versions - have:,} versions in {time.perf_counter() - started:.0f} s")
    load = os.getloadavg()[0]
    started, cpu = time.perf_counter(), time.process_time()
    report = history_verify()
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    print(f"database: {connection.vendor}")
    print(
        f"verify_history: {report.versions:,} versions of {report.addresses:,} addresses in {wall:.1f} s wall "
        f"({report.versions / wall:,.0f} versions/s; {cpu:.1f} s CPU in this process), "
        f"{len(report.problems)} problems; target 1,000,000 in 60 s; load average before {load:.2f}"
    )


if __name__ == "__main__":
    main()
