from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from geo.choices import RegionLevel
from geo.querysets import RegionQuerySet


class Region(models.Model):
    """A country or administrative division, placed in a tree by `parent`.

    `path` is the materialised chain of codes ("CN/440000/440300/440305/"), so a
    subtree is one indexed prefix query. Renamed or abolished divisions stay,
    inactive, pointing at their `successor`, so old addresses still resolve.
    """

    code = models.CharField(_("code"), max_length=16, unique=True)
    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=200, blank=True)
    short_name = models.CharField(_("short name"), max_length=50, blank=True)
    aliases = models.JSONField(_("aliases"), default=list, blank=True)
    level = models.CharField(_("level"), max_length=10, choices=RegionLevel.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    path = models.CharField(_("path"), max_length=100, unique=True)
    lat = models.DecimalField(
        _("latitude"),
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(-90), MaxValueValidator(90)],
    )
    lng = models.DecimalField(
        _("longitude"),
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(-180), MaxValueValidator(180)],
    )
    centroid_source = models.CharField(_("centroid source"), max_length=40, blank=True)
    centroid_estimated = models.BooleanField(
        _("centroid estimated"),
        default=False,
        help_text=_("True when the centroid is a fallback (e.g. the parent's), not the division's own."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    successor = models.ForeignKey(
        "self",
        verbose_name=_("successor"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="predecessors",
    )

    objects = RegionQuerySet.as_manager()

    class Meta:
        verbose_name = _("region")
        verbose_name_plural = _("regions")
        ordering = ["code"]
        indexes = [
            models.Index(fields=["level", "code"], name="geo_region_level_code"),
            models.Index(fields=["parent", "code"], name="geo_region_parent_code"),
            models.Index(fields=["name"], name="geo_region_name"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(lat__isnull=True) | Q(lat__gte=-90, lat__lte=90),
                name="%(app_label)s_%(class)s_lat_range",
            ),
            models.CheckConstraint(
                condition=Q(lng__isnull=True) | Q(lng__gte=-180, lng__lte=180),
                name="%(app_label)s_%(class)s_lng_range",
            ),
            models.CheckConstraint(
                condition=Q(level=RegionLevel.COUNTRY) | Q(parent__isnull=False),
                name="%(app_label)s_%(class)s_parent_unless_country",
            ),
        ]

    def __str__(self):
        return self.name

    def ancestors(self) -> list["Region"]:
        """The chain from the country down to this region, itself included."""
        codes = [c for c in self.path.split("/") if c]
        by_code = {r.code: r for r in Region.objects.filter(code__in=codes)}
        return [by_code[c] for c in codes if c in by_code]
