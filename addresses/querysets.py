from django.db import models

from geo.choices import GeocodePrecision


class AddressQuerySet(models.QuerySet):
    def in_region(self, region):
        """Addresses anywhere inside `region` (one indexed column per level)."""
        return self.filter(**{f"{region.level}_id": region.pk})

    def geocoded(self):
        return self.exclude(precision=GeocodePrecision.NONE)

    def for_customers(self, customers):
        return self.filter(customer__in=customers)
