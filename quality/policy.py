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


def verify_months() -> int:
    """Addresses are due for verification this many months after the last (QUALITY_VERIFY_MONTHS)."""
    return getattr(settings, "QUALITY_VERIFY_MONTHS", 12)


def verify_months_by_category() -> dict[str, int]:
    """Shorter or longer periods for addresses in some categories, by category name
    (QUALITY_VERIFY_MONTHS_BY_CATEGORY, e.g. {"仓库": 6})."""
    return dict(getattr(settings, "QUALITY_VERIFY_MONTHS_BY_CATEGORY", {}))


def due_soon_days() -> int:
    """An address is "due" this many days before it becomes overdue (QUALITY_DUE_SOON_DAYS)."""
    return getattr(settings, "QUALITY_DUE_SOON_DAYS", 30)


def link_days() -> int:
    """How long a self-service link stays valid (QUALITY_LINK_DAYS)."""
    return getattr(settings, "QUALITY_LINK_DAYS", 14)


def self_service_review() -> bool:
    """Hold customers' corrections for review instead of applying them (QUALITY_SELF_SERVICE_REVIEW)."""
    return getattr(settings, "QUALITY_SELF_SERVICE_REVIEW", False)


def points_rules() -> dict[str, int]:
    """Points per confirmed and per corrected address (QUALITY_POINTS)."""
    return {"confirm": 10, "correct": 20, **getattr(settings, "QUALITY_POINTS", {})}


def link_rate_limit() -> tuple[int, int]:
    """(requests, seconds) one client may make to self-service pages (QUALITY_LINK_RATE)."""
    return getattr(settings, "QUALITY_LINK_RATE", (30, 600))
