from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from trust.choices import AuditAction


class AuditEntry(models.Model):
    """One thing someone did with personal data or access: append-only (PostgreSQL rejects UPDATE
    and DELETE, except the retention prune of entries older than AUDIT_RETENTION_DAYS).

    Who is kept as id and name, not a foreign key: the entry outlives the user and the customer.
    """

    created_at = models.DateTimeField(_("time"), default=timezone.now)
    actor_id = models.BigIntegerField(_("user id"), null=True, blank=True)
    actor_name = models.CharField(_("user"), max_length=150, blank=True)
    action = models.CharField(_("action"), max_length=20, choices=AuditAction.choices)
    customer_id = models.BigIntegerField(_("customer id"), null=True, blank=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    details = models.JSONField(_("details"), default=dict, blank=True)

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit trail")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["created_at"], name="trust_auditentry_time"),
            models.Index(fields=["actor_id", "created_at"], name="trust_auditentry_actor"),
            models.Index(
                fields=["customer_id", "created_at"],
                condition=models.Q(customer_id__isnull=False),
                name="trust_auditentry_customer",
            ),
        ]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_name or '-'} {self.action}"


class HistoryCheckpoint(models.Model):
    """A keyed digest of every address history chain's head at one moment (`verify_history
    --checkpoint`, run daily after a clean check). A later check recomputes the digest from the rows
    as they stood then, so even an address deleted with all its history and its head shows."""

    created_at = models.DateTimeField(_("time"), default=timezone.now)
    addresses = models.PositiveBigIntegerField(_("addresses"))
    versions = models.PositiveBigIntegerField(_("versions"))
    digest = models.CharField(_("digest of the heads"), max_length=64)
    mac = models.CharField(_("keyed hash"), max_length=64)

    class Meta:
        verbose_name = _("history checkpoint")
        verbose_name_plural = _("history checkpoints")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.addresses} addresses"
