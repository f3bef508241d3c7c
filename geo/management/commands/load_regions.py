from django.core.management.base import BaseCommand

from geo.choices import RegionLevel
from geo.loading import regions_load


class Command(BaseCommand):
    help = "Load the bundled region tree (geo/data/regions_*.csv) into geo.Region. Safe to re-run."

    def handle(self, *args, **options):
        result = regions_load()
        verbosity = options["verbosity"]
        if verbosity == 0:
            return
        active, inactive = result.active_counts, result.inactive_counts
        countries = sum(n for (_, level), n in active.items() if level == RegionLevel.COUNTRY)
        subdivisions = sum(
            n for (c, level), n in active.items() if c != "CN" and level != RegionLevel.COUNTRY
        )
        cn = {
            level: active[("CN", level)]
            for level in (RegionLevel.PROVINCE, RegionLevel.CITY, RegionLevel.DISTRICT, RegionLevel.TOWNSHIP)
        }
        cn_historic = sum(n for (c, _), n in inactive.items() if c == "CN")
        self.stdout.write(
            f"CN: {cn[RegionLevel.PROVINCE]} provinces, {cn[RegionLevel.CITY]} cities, "
            f"{cn[RegionLevel.DISTRICT]} districts, {cn[RegionLevel.TOWNSHIP]} townships, "
            f"{cn_historic} historic (inactive)"
        )
        self.stdout.write(f"World: {countries} countries, {subdivisions} first-level subdivisions outside CN")
        if verbosity >= 2:
            for (country, level), n in sorted(active.items()):
                self.stdout.write(f"  {country} {level}: {n}")
        if not result.changed:
            self.stdout.write(self.style.SUCCESS(f"Nothing changed ({result.unchanged} regions up to date)."))
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"Created {result.created}, updated {result.updated}, unchanged {result.unchanged}, "
                f"deactivated {result.deactivated}."
            )
        )
