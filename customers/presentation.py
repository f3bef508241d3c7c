"""How customers read on the list page: labels, CSS classes and phrases computed once per page,
so the template's row loop only prints values (selectors return data; this decides its look)."""

import re

from django.utils.html import format_html_join
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from customers.choices import CustomerKind, RelationshipStage
from geo.choices import GeocodePrecision

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


def css_colour(value) -> str:
    """The colour if it is a plain #rrggbb value, else a neutral grey (never raw user text in CSS)."""
    return value if isinstance(value, str) and _COLOUR.match(value) else "#6c757d"


def precision_class(precision) -> str:
    return _PRECISION_CLASS.get(precision, "dz-prec-coarse")


def stage_class(stage) -> str:
    return _STAGE_CLASS.get(stage, "text-bg-light")


def precision_title(precision):
    if precision in (GeocodePrecision.ROOFTOP, GeocodePrecision.STREET):
        return _("Located precisely")
    if precision == GeocodePrecision.NONE:
        return _("Not located on the map")
    return _("Located at the centre of the region only")


def list_rows(customers: list) -> list:
    """Precompute what each list row shows, so the template's row loop only prints values.

    Choice labels and row phrases are translated once per page, not once per row.
    """
    kinds = {value: str(label) for value, label in CustomerKind.choices}
    stages = {value: str(label) for value, label in RelationshipStage.choices}
    precisions = {
        value: (str(label), precision_class(value), str(precision_title(value)))
        for value, label in GeocodePrecision.choices
    }
    select = gettext("Select %(name)s")
    for customer in customers:
        customer.select_label = select % {"name": customer.name}
        customer.kind_label = kinds.get(customer.kind, customer.kind)
        customer.stage_label = stages.get(customer.stage, customer.stage)
        customer.stage_css = stage_class(customer.stage)
        customer.primary_address = address = customer.address_list[0] if customer.address_list else None
        more = len(customer.address_list) - 1
        customer.more_addresses = (
            ngettext("+%(counter)s more", "+%(counter)s more", more) % {"counter": more} if more > 0 else ""
        )
        if address is not None:
            address.precision_label, address.precision_css, address.precision_hint = precisions.get(
                address.precision, (address.precision, precision_class(address.precision), "")
            )
            address.line = address.one_line()
        seen = {}
        for a in customer.address_list:
            for cat in a.categories.all():
                seen.setdefault(cat.pk, cat)
        customer.category_list = sorted(seen.values(), key=lambda c: c.name)
        customer.category_badges = format_html_join(
            "",
            '<span class="dz-cat" style="--dz-cat: {}">{}</span>',
            ((css_colour(c.colour), c.name) for c in customer.category_list),
        )
        owner = customer.owner
        customer.owner_label = (owner.get_full_name() or owner.username) if owner is not None else ""
    return customers
