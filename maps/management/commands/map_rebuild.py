"""Recompute every address's map key, the MapCell aggregate and the addresses' customer_scopes
(after bulk SQL or cascaded deletes)."""

import time

from django.core.management.base import BaseCommand

from maps.cells import map_cells_rebuild


class Command(BaseCommand):
    help = (
        "Recompute map keys, the map's precomputed cell counts and each address's copy of its "
        "customer's regions and categories from the addresses."
    )

    def handle(self, *args, **options):
        started = time.perf_counter()
        cells = map_cells_rebuild()
        self.stdout.write(f"{cells:,} map cells written in {time.perf_counter() - started:.1f} s.")
