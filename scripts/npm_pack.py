"""`npm pack` one package into a folder: shared by the scripts that take files from npm."""

import subprocess
from pathlib import Path


def npm_pack(spec: str, workdir: Path | str) -> Path:
    """Download `spec` (e.g. "leaflet@1.9.4") as a tarball into `workdir`; return its path."""
    out = subprocess.run(
        ["npm", "pack", spec, "--silent", "--pack-destination", str(workdir)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return Path(workdir) / out.strip().splitlines()[-1]
