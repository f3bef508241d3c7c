"""How places read and show on a page: region names in the UI language, points in the datum of
the configured map tiles."""

from django.conf import settings
from django.templatetags.static import static
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from geo.choices import CoordinateSystem
from geo.coords import from_wgs84


def region_label(region) -> str:
    """The region's name in the current language (the local name when it has no English one)."""
    if region is None:
        return ""
    if (get_language() or "").startswith("en") and region.name_en:
        return region.name_en
    return region.name


def region_path_label(chain) -> str:
    """A chain of regions as one line, country left out for China ("广东省 › 深圳市")."""
    return " › ".join(region_label(r) for r in (chain[1:] or chain))


def map_display_crs() -> str:
    """The datum points are drawn in: GCJ-02 on AMap tiles, WGS-84 otherwise."""
    return CoordinateSystem.GCJ02 if settings.MAP_TILES == "amap" else CoordinateSystem.WGS84


def display_point(lat, lng) -> tuple[float, float] | None:
    """A stored WGS-84 point converted for the configured tiles (None when not located)."""
    if lat is None or lng is None:
        return None
    dlat, dlng = from_wgs84(float(lat), float(lng), map_display_crs())
    return round(dlat, 6), round(dlng, 6)


# Country and province outlines shipped in static/geo (WGS-84), drawn when there are no tiles.
OUTLINE_FILES = ("world-countries.geojson", "china-provinces.geojson")


def outline_urls() -> dict[str, str]:
    """{file name: URL} of the shipped outlines (content-hashed names in production)."""
    return {name: static(f"geo/{name}") for name in OUTLINE_FILES}


def map_labels() -> dict[str, str]:
    """Leaflet's own control texts (English in Leaflet) in the page's language."""
    return {
        "zoomIn": str(_("Zoom in")),
        "zoomOut": str(_("Zoom out")),
        "closePopup": str(_("Close")),
        "noTiles": str(_("No street map is configured: only country and province outlines are drawn.")),
    }


def map_config() -> dict:
    """What mini-map.js needs to draw a map: the tile source, the datum of the points, the
    outlines and the controls' texts."""
    return {
        "tiles": settings.MAP_TILES,
        "crs": map_display_crs(),
        "outlines": outline_urls(),
        "labels": map_labels(),
    }
