from django.db import models

from geo.choices import RegionLevel


class RegionQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True)

    def subtree(self, region):
        """The region and everything below it."""
        return self.filter(path__startswith=region.path)

    def countries(self):
        return self.filter(level=RegionLevel.COUNTRY)
