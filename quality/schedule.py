"""The verification schedule as address filters: verified, due soon, overdue (with per-category
periods). Chainable Q objects over Address; no writes."""

from datetime import timedelta

from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from addresses.models import Address
from quality.policy import due_soon_days, verify_months, verify_months_by_category

STATUSES = ("unverified", "overdue", "due", "current")


def _months_ago(now, months: int):
    return now - timedelta(days=round(months * 30.44))


def _older_than(now, shift: timedelta = timedelta(0)) -> Q:
    """Verified longer ago than its period (minus `shift`: "due soon" looks ahead)."""
    overrides = verify_months_by_category()
    Through = Address.categories.through
    in_override = Exists(
        Through.objects.filter(address_id=OuterRef("pk"), addresscategory__name__in=list(overrides))
    )
    q = Q(verified_at__lt=_months_ago(now, verify_months()) + shift)
    if overrides:
        q &= ~in_override  # the category's own period wins
        for name, months in overrides.items():
            in_category = Exists(
                Through.objects.filter(address_id=OuterRef("pk"), addresscategory__name=name)
            )
            q |= Q(in_category, verified_at__lt=_months_ago(now, months) + shift)
    return q


def status_q(status: str, now=None) -> Q:
    """Addresses with this verification status."""
    now = now or timezone.now()
    if status == "unverified":
        return Q(verified_at__isnull=True)
    overdue = _older_than(now)
    if status == "overdue":
        return overdue
    due = _older_than(now, timedelta(days=due_soon_days()))
    if status == "due":
        return due & ~overdue
    if status == "current":
        return Q(verified_at__isnull=False) & ~due
    raise ValueError(status)


def next_due(verified_at, category_names=()) -> object:
    """When an address verified at `verified_at` is due again (None if never verified)."""
    if verified_at is None:
        return None
    overrides = verify_months_by_category()
    months = min((overrides[n] for n in category_names if n in overrides), default=verify_months())
    return verified_at + timedelta(days=round(months * 30.44))
