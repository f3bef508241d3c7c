"""Install a bench's comparison packages beside the project, never into it."""

import subprocess
import sys
from pathlib import Path


def pip_target(target: Path, *requirements: str, no_deps: bool = False) -> None:
    """`pip install --target target requirements...` with this interpreter."""
    command = [sys.executable, "-m", "pip", "install", "-q", "--target", str(target), *requirements]
    subprocess.run([*command, "--no-deps"] if no_deps else command, check=True)
