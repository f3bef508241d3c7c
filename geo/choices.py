from django.db import models
from django.utils.translation import gettext_lazy as _


class RegionLevel(models.TextChoices):
    COUNTRY = "country", _("Country")
    PROVINCE = "province", _("Province")
    CITY = "city", _("City")
    DISTRICT = "district", _("District")
    TOWNSHIP = "township", _("Township")


class GeocodePrecision(models.TextChoices):
    """How exactly a coordinate locates an address, best first."""

    ROOFTOP = "rooftop", _("Rooftop")
    STREET = "street", _("Street")
    TOWNSHIP = "township", _("Township")
    DISTRICT = "district", _("District")
    CITY = "city", _("City")
    PROVINCE = "province", _("Province")
    COUNTRY = "country", _("Country")
    NONE = "none", _("Not located")


# Precisions in the groups the customer list filters by ("located") and the import counts.
LOCATED_GROUPS = {
    "precise": (GeocodePrecision.ROOFTOP, GeocodePrecision.STREET),
    "coarse": (
        GeocodePrecision.TOWNSHIP,
        GeocodePrecision.DISTRICT,
        GeocodePrecision.CITY,
        GeocodePrecision.PROVINCE,
        GeocodePrecision.COUNTRY,
    ),
    "none": (GeocodePrecision.NONE,),
}
LOCATED_GROUP = {p: group for group, precisions in LOCATED_GROUPS.items() for p in precisions}

# Rank of each precision: lower is better. Used so a write never silently
# replaces a precise coordinate by a coarser one.
PRECISION_RANK = {p: i for i, p in enumerate(GeocodePrecision.values)}


class CoordinateSystem(models.TextChoices):
    WGS84 = "wgs84", _("WGS-84 (GPS, OpenStreetMap)")
    GCJ02 = "gcj02", _("GCJ-02 (AMap, Tencent)")
    BD09 = "bd09", _("BD-09 (Baidu)")
