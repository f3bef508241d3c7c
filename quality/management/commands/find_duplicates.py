"""Scan every customer for likely duplicates: rebuild the blocking keys, then score the pairs
that share one (run nightly by a scheduler; small changes are scanned as they are saved)."""

import time

from django.core.management.base import BaseCommand

from quality.services import customer_keys_rebuild, duplicates_scan


class Command(BaseCommand):
    help = "Find likely duplicate customers (blocking keys + scoring) and list them for review."

    def add_arguments(self, parser):
        parser.add_argument("--keep-keys", action="store_true", help="score with the keys as they are")

    def handle(self, *args, keep_keys=False, **options):
        started = time.monotonic()
        if not keep_keys:
            keys = customer_keys_rebuild()
            self.stdout.write(f"keys: {keys} in {time.monotonic() - started:.1f} s")
        result = duplicates_scan()
        self.stdout.write(
            f"candidate pairs: {result.candidates}, likely duplicates: {result.pairs} "
            f"({result.new} new) in {time.monotonic() - started:.1f} s"
        )
