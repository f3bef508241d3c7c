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
    """Black or white, whichever has the higher WCAG contrast ratio on the `#rrggbb` background
    (white on pure red is 4.0:1, below AA; black on it is 5.3:1)."""
    try:
        channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    except (TypeError, ValueError, IndexError):
        return "#fff"
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    luminance = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    on_white = 1.05 / (luminance + 0.05)
    on_black = (luminance + 0.05) / 0.05
    return "#000" if on_black > on_white else "#fff"


@register.filter
def widget(field):
    """Render a bound field's widget, marked `is-invalid` when it has errors."""
    if field.errors:
        css = field.field.widget.attrs.get("class", "")
        return field.as_widget(attrs={"class": f"{css} is-invalid".strip(), "aria-invalid": "true"})
    return field.as_widget()
