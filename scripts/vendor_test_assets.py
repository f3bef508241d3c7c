#!/usr/bin/env python3
"""Copy test-only libraries from the npm registry into tests/browser/assets/ (committed).

axe-core runs in the browser tests (tests/browser/test_accessibility.py); it is never
served by the app. Re-run after changing a version below:
`python scripts/vendor_test_assets.py`. Needs `npm` on the PATH.
"""

import shutil
import tarfile
import tempfile
from pathlib import Path

from npm_pack import npm_pack

ASSETS = Path(__file__).resolve().parents[1] / "tests" / "browser" / "assets"

# package@version: {path inside the package: path under tests/browser/assets/}
PACKAGES = {
    "axe-core@4.14.1": {
        "axe.min.js": "axe-core/axe.min.js",
        "LICENSE": "axe-core/LICENSE",
    },
}


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for spec, files in PACKAGES.items():
            with tarfile.open(npm_pack(spec, tmp)) as tar:
                for src, dst in files.items():
                    member = tar.extractfile(f"package/{src}")
                    if member is None:
                        raise SystemExit(f"{spec}: {src} not found")
                    target = ASSETS / dst
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(member.read())
            print(f"{spec}: {len(files)} files")
    (ASSETS / "VERSIONS.txt").write_text("".join(f"{spec}\n" for spec in PACKAGES))


if __name__ == "__main__":
    if shutil.which("npm") is None:
        raise SystemExit("npm is needed to refresh tests/browser/assets/")
    main()
