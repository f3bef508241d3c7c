"""Small display filters for addresses: badge colours that stay readable."""

from django import template

from geo.choices import GeocodePrecision

register = template.Library()

_PRECISION_CLASSES = {
    GeocodePrecision.ROOFTOP: "text-bg-success",
    GeocodePrecision.STREET: "text-bg-success",
    GeocodePrecision.DISTRICT: "text-bg-info",
    GeocodePrecision.CITY: "text-bg-warning",
    GeocodePrecision.PROVINCE: "text-bg-warning",
    GeocodePrecision.COUNTRY: "text-bg-warning",
    GeocodePrecision.NONE: "text-bg-secondary",
}


@register.filter
def precision_class(precision: str) -> str:
    """Bootstrap badge class for a geocode precision: green precise, amber coarse, grey none."""
    return _PRECISION_CLASSES.get(precision, "text-bg-secondary")


@register.filter
def text_on(colour: str) -> str:
    """Black or white, whichever reads better on the `#rrggbb` background."""
    try:
        r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    except (TypeError, ValueError, IndexError):
        return "#fff"
    luminance = 0.299 * r + 0.587 * g + 0.114 * b
    return "#212529" if luminance > 160 else "#fff"


@register.filter
def widget(field):
    """Render a bound field's widget, marked `is-invalid` when it has errors."""
    if field.errors:
        css = field.field.widget.attrs.get("class", "")
        return field.as_widget(attrs={"class": f"{css} is-invalid".strip(), "aria-invalid": "true"})
    return field.as_widget()
