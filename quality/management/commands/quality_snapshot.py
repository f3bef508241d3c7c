"""Take the day's data-quality snapshot (run nightly by a scheduler): the dashboard and its
trend charts read these rows."""

import time

from django.core.management.base import BaseCommand

from quality.services import quality_snapshot_take


class Command(BaseCommand):
    help = "Compute today's data-quality figures (everything, per province, per owner)."

    def handle(self, *args, **options):
        started = time.monotonic()
        rows = quality_snapshot_take()
        self.stdout.write(f"snapshot rows: {rows} in {time.monotonic() - started:.1f} s")
