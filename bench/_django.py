"""Set up Django for a bench script run as `python bench/<name>.py` from the project root."""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")
# The benches time the server's own work through Django's test client: static URLs are plain
# names, so no collectstatic run is needed first (bench/load.py serves the collected files).
os.environ.setdefault("STATIC_MANIFEST", "False")

import django  # noqa: E402

django.setup()
