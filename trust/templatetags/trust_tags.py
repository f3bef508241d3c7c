from datetime import timedelta

from django import template

register = template.Library()


@register.filter
def minutes(value: timedelta) -> int:
    """A duration in whole minutes, rounded up (a lockout of 59.5 minutes reads 60)."""
    return -(-int(value.total_seconds()) // 60)
