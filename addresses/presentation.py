"""How addresses show on a page: markers for the customer page's map."""

from addresses.models import Address
from geo.presentation import display_point


def address_map_points(addresses: list[Address]) -> list[dict]:
    """Map markers for the customer page, in the display datum."""
    points = []
    for a in addresses:
        point = display_point(a.lat, a.lng)
        if point is None:
            continue
        categories = list(a.categories.all())
        points.append(
            {
                "id": a.pk,
                "lat": point[0],
                "lng": point[1],
                "label": a.one_line(),
                "kind": a.get_kind_display(),
                "precision": a.get_precision_display(),
                "primary": a.is_primary,
                "colour": categories[0].colour if categories else None,
            }
        )
    return points
