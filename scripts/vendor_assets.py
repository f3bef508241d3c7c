#!/usr/bin/env python3
"""Copy front-end libraries from the npm registry into static/vendor/ (committed).

Running the app then needs neither node nor a CDN. Re-run after changing a
version below: `python scripts/vendor_assets.py`. Needs `npm` on the PATH.
"""

import shutil
import tarfile
import tempfile
from pathlib import Path

from npm_pack import npm_pack

VENDOR = Path(__file__).resolve().parents[1] / "static" / "vendor"

# package@version: {path inside the package: path under static/vendor/}
PACKAGES = {
    "bootstrap@5.3.8": {
        "dist/css/bootstrap.min.css": "bootstrap/bootstrap.min.css",
        "dist/js/bootstrap.bundle.min.js": "bootstrap/bootstrap.bundle.min.js",
        "LICENSE": "bootstrap/LICENSE",
    },
    "bootstrap-icons@1.13.2": {
        "font/bootstrap-icons.min.css": "bootstrap-icons/bootstrap-icons.min.css",
        "font/fonts/bootstrap-icons.woff2": "bootstrap-icons/fonts/bootstrap-icons.woff2",
        "font/fonts/bootstrap-icons.woff": "bootstrap-icons/fonts/bootstrap-icons.woff",
        "LICENSE": "bootstrap-icons/LICENSE",
    },
    "htmx.org@2.0.8": {
        "dist/htmx.min.js": "htmx/htmx.min.js",
        "LICENSE": "htmx/LICENSE",
    },
    "leaflet@1.9.4": {
        "dist/leaflet.js": "leaflet/leaflet.js",
        "dist/leaflet.css": "leaflet/leaflet.css",
        "dist/images/marker-icon.png": "leaflet/images/marker-icon.png",
        "dist/images/marker-icon-2x.png": "leaflet/images/marker-icon-2x.png",
        "dist/images/marker-shadow.png": "leaflet/images/marker-shadow.png",
        "dist/images/layers.png": "leaflet/images/layers.png",
        "dist/images/layers-2x.png": "leaflet/images/layers-2x.png",
        "LICENSE": "leaflet/LICENSE",
    },
    "leaflet.heat@0.2.0": {
        "dist/leaflet-heat.js": "leaflet.heat/leaflet-heat.js",
        "LICENSE": "leaflet.heat/LICENSE",
    },
    "leaflet-draw@1.0.4": {
        "dist/leaflet.draw.js": "leaflet-draw/leaflet.draw.js",
        "dist/leaflet.draw.css": "leaflet-draw/leaflet.draw.css",
        "dist/images/spritesheet.png": "leaflet-draw/images/spritesheet.png",
        "dist/images/spritesheet-2x.png": "leaflet-draw/images/spritesheet-2x.png",
        "dist/images/spritesheet.svg": "leaflet-draw/images/spritesheet.svg",
    },
}


def fetch(spec: str, files: dict[str, str], workdir: Path) -> None:
    with tarfile.open(npm_pack(spec, workdir)) as tar:
        for src, dst in files.items():
            member = tar.extractfile(f"package/{src}")
            if member is None:
                raise SystemExit(f"{spec}: {src} not found")
            target = VENDOR / dst
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(member.read())
    print(f"{spec}: {len(files)} files")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for spec, files in PACKAGES.items():
            fetch(spec, files, Path(tmp))
    (VENDOR / "VERSIONS.txt").write_text("".join(f"{spec}\n" for spec in PACKAGES))


if __name__ == "__main__":
    if shutil.which("npm") is None:
        raise SystemExit("npm is needed to refresh static/vendor/")
    main()
