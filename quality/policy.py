"""The quality settings, with their defaults (set them in crm/settings.py)."""

from datetime import timedelta

from django.conf import settings

from quality.matching import DEFAULT_THRESHOLD


def duplicate_threshold() -> float:
    """Pairs scoring at least this are listed as likely duplicates (QUALITY_DUPLICATE_THRESHOLD)."""
    return getattr(settings, "QUALITY_DUPLICATE_THRESHOLD", DEFAULT_THRESHOLD)


def undo_period() -> timedelta:
    """How long a merge can be undone (QUALITY_MERGE_UNDO_DAYS, default 30)."""
    return timedelta(days=getattr(settings, "QUALITY_MERGE_UNDO_DAYS", 30))
