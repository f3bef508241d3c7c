#!/usr/bin/env python3
"""Build the offline map outlines in static/geo/ from two npm packages (committed output).

- world countries: `world-atlas@2.0.2` (Natural Earth 1:110m admin-0, public domain;
  package ISC), TopoJSON decoded here;
- China's provinces: `echarts@4.9.0` `map/json/china.json` (Apache-2.0), whose
  coordinates are echarts' UTF-8 delta encoding, decoded here.

Both are simplified (Douglas-Peucker) and rounded so the two files stay small.
Re-run: `python scripts/build_outlines.py` (needs `npm` on the PATH).
"""

import json
import shutil
import tarfile
import tempfile
from pathlib import Path

from npm_pack import npm_pack

OUT = Path(__file__).resolve().parents[1] / "static" / "geo"
WORLD = "world-atlas@2.0.2"
CHINA = "echarts@4.9.0"
# Drawn from the province file instead (mainland China and Taiwan, ISO numeric codes).
WORLD_SKIP = {"156", "158"}
TOLERANCE = {"world": 0.08, "china": 0.02}  # degrees
DIGITS = 3


def npm_file(spec: str, member: str, workdir: Path) -> bytes:
    with tarfile.open(npm_pack(spec, workdir)) as tar:
        f = tar.extractfile(f"package/{member}")
        if f is None:
            raise SystemExit(f"{spec}: {member} missing")
        return f.read()


def simplify(points: list[list[float]], tolerance: float) -> list[list[float]]:
    """Douglas-Peucker on one ring (iterative, keeps the end points)."""
    if len(points) < 4:
        return points
    keep = [False] * len(points)
    keep[0] = keep[-1] = True
    stack = [(0, len(points) - 1)]
    while stack:
        a, b = stack.pop()
        (x1, y1), (x2, y2) = points[a], points[b]
        dx, dy = x2 - x1, y2 - y1
        norm = (dx * dx + dy * dy) ** 0.5
        best, index = -1.0, -1
        for i in range(a + 1, b):
            x, y = points[i]
            d = (
                abs(dy * x - dx * y + x2 * y1 - y2 * x1) / norm
                if norm
                else ((x - x1) ** 2 + (y - y1) ** 2) ** 0.5
            )
            if d > best:
                best, index = d, i
        if index >= 0 and best > tolerance:
            keep[index] = True
            stack += [(a, index), (index, b)]
    return [p for p, k in zip(points, keep) if k]


def clean_ring(ring, tolerance):
    ring = simplify(ring, tolerance)
    ring = [[round(x, DIGITS), round(y, DIGITS)] for x, y in ring]
    out = [p for i, p in enumerate(ring) if i == 0 or p != ring[i - 1]]
    if len(out) < 4:
        return None
    if out[0] != out[-1]:
        out.append(out[0])
    return out


def multipolygon(polygons, tolerance):
    result = []
    for polygon in polygons:
        rings = [r for r in (clean_ring(ring, tolerance) for ring in polygon) if r]
        if rings and rings[0]:
            result.append(rings)
    return result


def topo_features(topology: dict, name: str):
    """Decode one TopoJSON geometry collection into (id, name, multipolygon) tuples."""
    sx, sy = topology["transform"]["scale"]
    tx, ty = topology["transform"]["translate"]
    arcs = []
    for arc in topology["arcs"]:
        x = y = 0
        pts = []
        for dx, dy in arc:
            x += dx
            y += dy
            pts.append([x * sx + tx, y * sy + ty])
        arcs.append(pts)

    def ring(indexes):
        pts = []
        for i in indexes:
            a = arcs[i] if i >= 0 else list(reversed(arcs[~i]))
            pts.extend(a if not pts else a[1:])
        return pts

    for geom in topology["objects"][name]["geometries"]:
        if geom["type"] == "Polygon":
            polys = [[ring(r) for r in geom["arcs"]]]
        elif geom["type"] == "MultiPolygon":
            polys = [[ring(r) for r in p] for p in geom["arcs"]]
        else:
            continue
        yield str(geom.get("id", "")), geom.get("properties", {}).get("name", ""), polys


def echarts_decode(data: dict):
    """echarts 4 map JSON: zigzag + delta encoded characters, scaled by UTF8Scale."""
    scale = data.get("UTF8Scale", 1024)

    def polygon(encoded: str, offsets):
        px, py = offsets
        pts = []
        for i in range(0, len(encoded), 2):
            x = ord(encoded[i]) - 64
            y = ord(encoded[i + 1]) - 64
            x = (x >> 1) ^ -(x & 1)
            y = (y >> 1) ^ -(y & 1)
            px, py = px + x, py + y
            pts.append([px / scale, py / scale])
        return pts

    for f in data["features"]:
        g = f["geometry"]
        if g["type"] == "Polygon":
            polys = [[polygon(r, o) for r, o in zip(g["coordinates"], g["encodeOffsets"])]]
        else:
            polys = [
                [polygon(r, o) for r, o in zip(p, offs)]
                for p, offs in zip(g["coordinates"], g["encodeOffsets"])
            ]
        props = f["properties"]
        yield str(props.get("id") or f.get("id") or ""), props["name"], polys


def feature_collection(rows, tolerance, code_of):
    features = []
    for fid, name, polys in rows:
        coords = multipolygon(polys, tolerance)
        if not coords:
            continue
        features.append(
            {
                "type": "Feature",
                "properties": {"code": code_of(fid), "name": name},
                "geometry": {"type": "MultiPolygon", "coordinates": coords},
            }
        )
    return {"type": "FeatureCollection", "features": features}


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        world = json.loads(npm_file(WORLD, "countries-110m.json", Path(tmp)))
        china = json.loads(npm_file(CHINA, "map/json/china.json", Path(tmp)))
    rows = [r for r in topo_features(world, "countries") if r[0] not in WORLD_SKIP]
    world_fc = feature_collection(rows, TOLERANCE["world"], lambda fid: fid)
    china_fc = feature_collection(
        echarts_decode(china), TOLERANCE["china"], lambda fid: fid if len(fid) == 6 else (fid + "0000")[:6]
    )
    for name, fc in (("world-countries.geojson", world_fc), ("china-provinces.geojson", china_fc)):
        text = json.dumps(fc, ensure_ascii=False, separators=(",", ":"))
        (OUT / name).write_text(text, encoding="utf-8")
        print(f"{name}: {len(fc['features'])} features, {len(text.encode()) // 1024} KB")


if __name__ == "__main__":
    if shutil.which("npm") is None:
        raise SystemExit("npm is needed to rebuild static/geo/")
    main()
