"""Time `seed_demo` (customers + addresses through the write path).

Usage: DATABASE_URL=postgres://... python bench/seed.py [N] [--fresh] [--profile FILE]
Adds N customers (default 100,000) to the configured database (migrate it first);
--fresh empties customers, addresses, history and map cells first (PostgreSQL only),
--profile writes a cProfile dump of the run.
"""

import argparse
import os
import time

import _django  # noqa: F401
from django.core.management import call_command
from django.db import connection

from addresses.models import Address, AddressVersion
from customers.models import Customer


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("n", nargs="?", type=int, default=100_000)
    parser.add_argument("--fresh", action="store_true")
    parser.add_argument("--profile")
    args = parser.parse_args()
    n = args.n
    call_command("load_regions", verbosity=0)
    if args.fresh and connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute(
                "truncate addresses_addressversion, addresses_address_categories, addresses_address, "
                "addresses_mapcell, customers_customer restart identity cascade"
            )
    before = (Customer.objects.count(), Address.objects.count(), AddressVersion.objects.count())
    load = os.getloadavg()
    started, cpu = time.perf_counter(), time.process_time()
    if args.profile:
        import cProfile

        cProfile.runctx(
            "call_command('seed_demo', customers=n, verbosity=0)", globals(), {"n": n}, args.profile
        )
    else:
        call_command("seed_demo", customers=n, verbosity=0)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    after = (Customer.objects.count(), Address.objects.count(), AddressVersion.objects.count())
    print(f"database: {connection.vendor}")
    print(
        f"customers added: {after[0] - before[0]:,}  addresses: {after[1] - before[1]:,}  "
        f"history rows: {after[2] - before[2]:,}"
    )
    print(
        f"seed_demo --customers {n:,}: {elapsed:.1f} s wall ({n / elapsed:,.0f} customers/s), "
        f"{cpu:.1f} s CPU in this process; load average before {load[0]:.2f}, after {os.getloadavg()[0]:.2f}"
    )


if __name__ == "__main__":
    main()
