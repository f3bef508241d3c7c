"""WGS-84 ⇄ GCJ-02 ⇄ BD-09 conversion. Pure maths: no database, no network.

GCJ-02 is the obfuscated datum required for maps published in mainland China
(AMap, Tencent); BD-09 is Baidu's further offset of GCJ-02. Outside mainland
China both equal WGS-84, so conversions there are the identity. The forward
transform is the published Krasovsky-ellipsoid formula; the inverse is solved by
fixed-point iteration to well under a centimetre.
"""

import math

from geo.choices import CoordinateSystem

_A = 6378245.0  # Krasovsky 1940 semi-major axis
_EE = 0.00669342162296594323  # its first eccentricity squared
_X_PI = math.pi * 3000.0 / 180.0


def in_china(lat: float, lng: float) -> bool:
    """Rough mainland-China box used by every GCJ-02 implementation."""
    return 73.66 < lng < 135.05 and 3.86 < lat < 53.55


def _delta(lat: float, lng: float) -> tuple[float, float]:
    x, y = lng - 105.0, lat - 35.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    dlat += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    dlat += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    dlat += (160.0 * math.sin(y / 12.0 * math.pi) + 320 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    dlng = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    dlng += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    dlng += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    dlng += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    radlat = lat / 180.0 * math.pi
    magic = 1 - _EE * math.sin(radlat) ** 2
    sqrtmagic = math.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrtmagic) * math.pi)
    dlng = (dlng * 180.0) / (_A / sqrtmagic * math.cos(radlat) * math.pi)
    return dlat, dlng


def wgs84_to_gcj02(lat: float, lng: float) -> tuple[float, float]:
    """Offset a WGS-84 coordinate to GCJ-02 (identity outside mainland China)."""
    if not in_china(lat, lng):
        return lat, lng
    dlat, dlng = _delta(lat, lng)
    return lat + dlat, lng + dlng


def gcj02_to_wgs84(lat: float, lng: float) -> tuple[float, float]:
    """Inverse of wgs84_to_gcj02 by fixed-point iteration (error < 1e-9 degrees)."""
    if not in_china(lat, lng):
        return lat, lng
    wlat, wlng = lat, lng
    for _ in range(20):
        glat, glng = wgs84_to_gcj02(wlat, wlng)
        dlat, dlng = glat - lat, glng - lng
        wlat, wlng = wlat - dlat, wlng - dlng
        if abs(dlat) < 1e-11 and abs(dlng) < 1e-11:
            break
    return wlat, wlng


def gcj02_to_bd09(lat: float, lng: float) -> tuple[float, float]:
    """Baidu's offset of a GCJ-02 coordinate (applied wherever Baidu answers)."""
    z = math.sqrt(lng * lng + lat * lat) + 0.00002 * math.sin(lat * _X_PI)
    theta = math.atan2(lat, lng) + 0.000003 * math.cos(lng * _X_PI)
    return z * math.sin(theta) + 0.006, z * math.cos(theta) + 0.0065


def _bd09_to_gcj02_approx(lat: float, lng: float) -> tuple[float, float]:
    x, y = lng - 0.0065, lat - 0.006
    z = math.sqrt(x * x + y * y) - 0.00002 * math.sin(y * _X_PI)
    theta = math.atan2(y, x) - 0.000003 * math.cos(x * _X_PI)
    return z * math.sin(theta), z * math.cos(theta)


def bd09_to_gcj02(lat: float, lng: float) -> tuple[float, float]:
    """Inverse of gcj02_to_bd09: the published closed form (off by up to ~1e-6
    degrees), refined by fixed-point iteration so round trips agree to <1e-9."""
    glat, glng = _bd09_to_gcj02_approx(lat, lng)
    for _ in range(10):
        blat, blng = gcj02_to_bd09(glat, glng)
        dlat, dlng = blat - lat, blng - lng
        glat, glng = glat - dlat, glng - dlng
        if abs(dlat) < 1e-11 and abs(dlng) < 1e-11:
            break
    return glat, glng


def wgs84_to_bd09(lat: float, lng: float) -> tuple[float, float]:
    """WGS-84 to BD-09 through GCJ-02 (identity outside mainland China)."""
    if not in_china(lat, lng):
        return lat, lng
    return gcj02_to_bd09(*wgs84_to_gcj02(lat, lng))


def bd09_to_wgs84(lat: float, lng: float) -> tuple[float, float]:
    """Exact inverse of wgs84_to_bd09 (identity outside mainland China)."""
    glat, glng = bd09_to_gcj02(lat, lng)
    if not in_china(glat, glng):
        return lat, lng
    return gcj02_to_wgs84(glat, glng)


_TO_WGS84 = {
    CoordinateSystem.WGS84: lambda lat, lng: (lat, lng),
    CoordinateSystem.GCJ02: gcj02_to_wgs84,
    CoordinateSystem.BD09: bd09_to_wgs84,
}
_FROM_WGS84 = {
    CoordinateSystem.WGS84: lambda lat, lng: (lat, lng),
    CoordinateSystem.GCJ02: wgs84_to_gcj02,
    CoordinateSystem.BD09: wgs84_to_bd09,
}


def to_wgs84(lat: float, lng: float, crs: str) -> tuple[float, float]:
    """Convert a coordinate declared in `crs` (wgs84 / gcj02 / bd09) to WGS-84."""
    return _TO_WGS84[CoordinateSystem(crs)](lat, lng)


def from_wgs84(lat: float, lng: float, crs: str) -> tuple[float, float]:
    """Convert a WGS-84 coordinate to `crs` for display on that provider's tiles."""
    return _FROM_WGS84[CoordinateSystem(crs)](lat, lng)


def haversine_km(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle distance in kilometres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0088 * math.asin(min(1.0, math.sqrt(h)))
