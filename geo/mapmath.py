"""Web-map maths: Web-Mercator grid cells, Morton keys, bounding boxes, polygons.

Pure code: no database, no network. A point's `map key` is its Web-Mercator
cell at level `KEY_LEVEL` with x and y bits interleaved (Morton / Z-order), so
the cell containing it at any coarser level L is `key >> 2 * (KEY_LEVEL - L)`
and every cell is one contiguous key range: a whole grid of clusters is one
GROUP BY over an indexed integer column.
"""

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

KEY_LEVEL = 26  # cells of ~60 cm at the equator; keys fit in 52 bits
MAX_LAT = 85.05112878


@dataclass(frozen=True)
class BBox:
    """A south-west / north-east box in WGS-84 degrees (never crossing the antimeridian)."""

    south: float
    west: float
    north: float
    east: float

    @classmethod
    def parse(cls, text: str) -> "BBox":
        """Leaflet's `toBBoxString()` order: west,south,east,north; clamped to the world."""
        west, south, east, north = (float(v) for v in text.split(","))
        if not all(math.isfinite(v) for v in (west, south, east, north)):
            raise ValueError("bbox must be finite")
        south, north = max(-MAX_LAT, min(south, north)), min(MAX_LAT, max(south, north))
        west, east = max(-180.0, min(west, east)), min(180.0, max(west, east))
        return cls(south, west, north, east)

    def contains(self, lat: float, lng: float) -> bool:
        return self.south <= lat <= self.north and self.west <= lng <= self.east

    def padded(self, fraction: float) -> "BBox":
        dlat, dlng = (self.north - self.south) * fraction, (self.east - self.west) * fraction
        return BBox(
            max(-MAX_LAT, self.south - dlat),
            max(-180.0, self.west - dlng),
            min(MAX_LAT, self.north + dlat),
            min(180.0, self.east + dlng),
        )


def cell_xy(lat: float, lng: float, level: int) -> tuple[int, int]:
    """Web-Mercator cell (x, y) of a point at `level` (2**level cells across the world)."""
    n = 1 << level
    lat = max(-MAX_LAT, min(MAX_LAT, lat))
    x = int((lng + 180.0) / 360.0 * n)
    s = math.sin(math.radians(lat))
    y = int((0.5 - math.log((1 + s) / (1 - s)) / (4 * math.pi)) * n)
    return min(max(x, 0), n - 1), min(max(y, 0), n - 1)


def cell_bounds(x: int, y: int, level: int) -> BBox:
    """The WGS-84 box of a cell."""
    n = 1 << level

    def lat_of(yy):
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * yy / n))))

    return BBox(lat_of(y + 1), x / n * 360.0 - 180.0, lat_of(y), (x + 1) / n * 360.0 - 180.0)


def _spread(v: int) -> int:
    """Put a zero bit between each of the low 32 bits of v."""
    v &= 0xFFFFFFFF
    v = (v | (v << 16)) & 0x0000FFFF0000FFFF
    v = (v | (v << 8)) & 0x00FF00FF00FF00FF
    v = (v | (v << 4)) & 0x0F0F0F0F0F0F0F0F
    v = (v | (v << 2)) & 0x3333333333333333
    return (v | (v << 1)) & 0x5555555555555555


def _squeeze(v: int) -> int:
    v &= 0x5555555555555555
    v = (v | (v >> 1)) & 0x3333333333333333
    v = (v | (v >> 2)) & 0x0F0F0F0F0F0F0F0F
    v = (v | (v >> 4)) & 0x00FF00FF00FF00FF
    v = (v | (v >> 8)) & 0x0000FFFF0000FFFF
    return (v | (v >> 16)) & 0xFFFFFFFF


def morton(x: int, y: int) -> int:
    """Interleave x (even bits) and y (odd bits)."""
    return _spread(x) | (_spread(y) << 1)


def unmorton(code: int) -> tuple[int, int]:
    return _squeeze(code), _squeeze(code >> 1)


def map_key(lat: float | None, lng: float | None) -> int | None:
    """The Morton key of a point at KEY_LEVEL (None for a point-less address)."""
    if lat is None or lng is None:
        return None
    return morton(*cell_xy(float(lat), float(lng), KEY_LEVEL))


def key_shift(level: int) -> int:
    """Right shift turning a map key into its cell code at `level`."""
    return 2 * (KEY_LEVEL - level)


def cell_key_range(code: int, level: int) -> tuple[int, int]:
    """Half-open range [lo, hi) of map keys inside the cell `code` at `level`."""
    s = key_shift(level)
    return code << s, (code + 1) << s


def bbox_key_ranges(bbox: BBox, *, max_cells: int = 24) -> list[tuple[int, int]]:
    """Few merged half-open key ranges that cover `bbox` (a superset, never a subset).

    Picks the finest level at which the box spans at most `max_cells` cells, so
    an index range scan reads little outside the box.
    """
    level = KEY_LEVEL
    while True:
        x0, y0 = cell_xy(bbox.north, bbox.west, level)
        x1, y1 = cell_xy(bbox.south, bbox.east, level)
        if (x1 - x0 + 1) * (y1 - y0 + 1) <= max_cells or level == 0:
            break
        level -= 1
    codes = sorted(morton(x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1))
    ranges: list[tuple[int, int]] = []
    for code in codes:
        lo, hi = cell_key_range(code, level)
        if ranges and ranges[-1][1] == lo:
            ranges[-1] = (ranges[-1][0], hi)
        else:
            ranges.append((lo, hi))
    return ranges


def radius_bbox(lat: float, lng: float, radius_km: float) -> BBox:
    """A box surely containing the circle of `radius_km` around a point."""
    dlat = radius_km / 110.574
    coslat = max(math.cos(math.radians(lat)), 0.01)
    dlng = min(radius_km / (111.320 * coslat), 180.0)
    return BBox(
        max(-MAX_LAT, lat - dlat), max(-180.0, lng - dlng), min(MAX_LAT, lat + dlat), min(180.0, lng + dlng)
    )


def polygon_bbox(ring: Sequence[tuple[float, float]]) -> BBox:
    lats = [p[0] for p in ring]
    lngs = [p[1] for p in ring]
    return BBox(min(lats), min(lngs), max(lats), max(lngs))


def point_in_polygon(lat: float, lng: float, ring: Sequence[tuple[float, float]]) -> bool:
    """Even-odd rule over a ring of (lat, lng) vertices (closed or not)."""
    inside = False
    n = len(ring)
    j = n - 1
    for i in range(n):
        yi, xi = ring[i]
        yj, xj = ring[j]
        if (yi > lat) != (yj > lat):
            x_cross = xi + (lat - yi) * (xj - xi) / (yj - yi)
            if lng < x_cross:
                inside = not inside
        j = i
    return inside


def cells_around(points: Iterable[tuple[float, float, int]], level: int) -> dict[tuple[int, int], int]:
    """Sum weights of (lat, lng, weight) points into cells at `level`."""
    out: dict[tuple[int, int], int] = {}
    for lat, lng, w in points:
        key = cell_xy(lat, lng, level)
        out[key] = out.get(key, 0) + w
    return out
