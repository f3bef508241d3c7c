"""Recompute every customer's RFM scores, segment and churn risk (run nightly, e.g. from cron)."""

import time

from django.core.management.base import BaseCommand

from analysis.services import scores_recompute


class Command(BaseCommand):
    help = "Recompute RFM scores, segments and churn risk for all customers with orders."

    def handle(self, *args, **options):
        started = time.perf_counter()
        result = scores_recompute()
        self.stdout.write(
            f"Scored {result.scored:,} customers in {time.perf_counter() - started:.1f} s; "
            f"{result.stages_moved:,} moved stage by the lifecycle rule."
        )
