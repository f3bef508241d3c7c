"""Writing the audit trail: one entry per thing done, in the transaction of the thing itself."""

from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from trust.login import client_ip
from trust.models import AuditEntry


def _who(actor) -> tuple[int | None, str]:
    if actor is not None and getattr(actor, "is_authenticated", False):
        return actor.pk, actor.get_username()
    return None, ""


def audit_record(
    *, actor, action: str, customer_id: int | None = None, request=None, **details
) -> AuditEntry:
    """Append one entry: who (`actor`, or `details['username']` for a failed login), did what, to
    which customer, from which address."""
    actor_id, actor_name = _who(actor)
    return AuditEntry.objects.create(
        actor_id=actor_id,
        actor_name=actor_name or str(details.get("username", ""))[:150],
        action=action,
        customer_id=customer_id,
        ip_address=(client_ip(request) or None) if request is not None else None,
        details=details,
    )


def audit_record_many(*, actor, action: str, customer_ids: Iterable[int], **details) -> None:
    """One entry per customer (a bulk deletion, say)."""
    actor_id, actor_name = _who(actor)
    AuditEntry.objects.bulk_create(
        AuditEntry(actor_id=actor_id, actor_name=actor_name, action=action, customer_id=c, details=details)
        for c in customer_ids
    )


@transaction.atomic
def audit_prune(*, days: int | None = None) -> int:
    """Delete the entries older than the retention period (AUDIT_RETENTION_DAYS); returns how many."""
    days = settings.AUDIT_RETENTION_DAYS if days is None else days
    if connection.vendor == "postgresql":
        # The append-only trigger lets this session delete entries older than the period, no others.
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('dizhi.audit_prune_days', %s, true)", [str(int(days))])
    deleted, _ = AuditEntry.objects.filter(created_at__lt=timezone.now() - timedelta(days=days)).delete()
    return deleted
