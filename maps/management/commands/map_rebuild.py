"""Recompute the addresses' copies of their customers, every address's map key, the MapCell
aggregate and the addresses' customer_scopes (after bulk SQL, cascaded deletes or a bug)."""

import time

from django.core.management.base import BaseCommand

from addresses.services import addresses_customer_copies_rebuild
from maps.cells import map_cells_rebuild


class Command(BaseCommand):
    help = (
        "Recompute each address's copy of its customer's name, stage, kind and owner, the map keys, "
        "the map's precomputed cell counts and each address's copy of its customer's regions and categories."
    )

    def handle(self, *args, **options):
        started = time.perf_counter()
        copies = addresses_customer_copies_rebuild()
        cells = map_cells_rebuild()
        self.stdout.write(
            f"{copies:,} addresses had a stale copy of their customer; "
            f"{cells:,} map cells written in {time.perf_counter() - started:.1f} s."
        )
