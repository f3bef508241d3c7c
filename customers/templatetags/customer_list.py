import re

from django import template
from django.utils.translation import gettext_lazy as _

from geo.choices import GeocodePrecision

register = template.Library()

_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
_PRECISION_CLASS = {
    GeocodePrecision.ROOFTOP: "dz-prec-precise",
    GeocodePrecision.STREET: "dz-prec-precise",
    GeocodePrecision.NONE: "dz-prec-none",
}
_STAGE_CLASS = {
    "potential": "text-bg-light border",
    "new": "text-bg-info",
    "existing": "text-bg-success",
    "churned": "text-bg-secondary",
}


@register.filter
def css_colour(value) -> str:
    """The colour if it is a plain #rrggbb value, else a neutral grey (never raw user text in CSS)."""
    return value if isinstance(value, str) and _COLOUR.match(value) else "#6c757d"


@register.filter
def precision_class(precision) -> str:
    return _PRECISION_CLASS.get(precision, "dz-prec-coarse")


@register.filter
def stage_class(stage) -> str:
    return _STAGE_CLASS.get(stage, "text-bg-light")


@register.simple_tag
def precision_title(precision):
    if precision in (GeocodePrecision.ROOFTOP, GeocodePrecision.STREET):
        return _("Located precisely")
    if precision == GeocodePrecision.NONE:
        return _("Not located on the map")
    return _("Located at the centre of the region only")
