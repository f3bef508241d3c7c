"""Time `seed_demo` (customers + addresses through the write path).

Usage: DATABASE_URL=postgres://... python bench/seed.py [N]   (default 100,000)
Adds N customers to the configured database (migrate it first).
"""

import sys
import time

import _django  # noqa: F401
from django.core.management import call_command
from django.db import connection

from addresses.models import Address, AddressVersion
from customers.models import Customer


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    call_command("load_regions", verbosity=0)
    before = (Customer.objects.count(), Address.objects.count(), AddressVersion.objects.count())
    started = time.perf_counter()
    call_command("seed_demo", customers=n, verbosity=0)
    elapsed = time.perf_counter() - started
    after = (Customer.objects.count(), Address.objects.count(), AddressVersion.objects.count())
    print(f"database: {connection.vendor}")
    print(f"customers added: {after[0] - before[0]:,}  addresses: {after[1] - before[1]:,}  "
          f"history rows: {after[2] - before[2]:,}")
    print(f"seed_demo --customers {n:,}: {elapsed:.1f} s  ({n / elapsed:,.0f} customers/s)")


if __name__ == "__main__":
    main()
