from django.db import models
from django.utils.translation import gettext_lazy as _


class MapCell(models.Model):
    """How many addresses lie in one map grid cell (or one region), kept by the write path.

    Grid rows (`level` = Web-Mercator level, `x`/`y` = cell) let the map draw
    every address without scanning them; region rows (`level` 101/102/103 for
    province/city/district, `x` = region id, `y` = 0) feed the region shading.
    Sums of lat/lng give each cell's centroid. Rebuilt by `manage.py map_rebuild`.
    `scope` "" counts every address; coarse grid levels are also kept per filter
    value (see `maps.cells.address_scopes`).
    """

    scope = models.CharField(_("scope"), max_length=32, default="", blank=True)
    level = models.PositiveSmallIntegerField(_("level"))
    x = models.BigIntegerField(_("x"))
    y = models.BigIntegerField(_("y"))
    count = models.IntegerField(_("count"), default=0)
    lat_sum = models.FloatField(_("latitude sum"), default=0)
    lng_sum = models.FloatField(_("longitude sum"), default=0)

    class Meta:
        db_table = "addresses_mapcell"  # created by the addresses app, before the map had its own
        verbose_name = _("map cell")
        verbose_name_plural = _("map cells")
        ordering = ["scope", "level", "x", "y"]
        constraints = [
            models.UniqueConstraint(
                fields=["scope", "level", "x", "y"], name="addresses_mapcell_unique_scoped_cell"
            ),
        ]

    def __str__(self):
        return f"{self.scope}@{self.level}/{self.x}/{self.y}: {self.count}"
