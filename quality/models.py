from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from quality.choices import KeyKind, PairStatus


class CustomerKey(models.Model):
    """A blocking key of a customer (normalised phone, e-mail, name in a city, address
    fingerprint): customers sharing one are compared by the duplicate scan."""

    customer = models.ForeignKey(
        "customers.Customer", verbose_name=_("customer"), on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(_("kind"), max_length=8, choices=KeyKind.choices)
    key = models.CharField(_("key"), max_length=320)

    class Meta:
        verbose_name = _("customer key")
        verbose_name_plural = _("customer keys")
        ordering = ["kind", "key", "customer"]
        indexes = [models.Index(fields=["kind", "key", "customer"], name="quality_customerkey_block")]

    def __str__(self):
        return f"{self.kind}:{self.key}"


class DuplicatePair(models.Model):
    """Two customers that look like one, with the score and the reasons the scan found."""

    customer_a = models.ForeignKey(
        "customers.Customer", verbose_name=_("customer"), on_delete=models.CASCADE, related_name="+"
    )
    customer_b = models.ForeignKey(
        "customers.Customer", verbose_name=_("other customer"), on_delete=models.CASCADE, related_name="+"
    )
    score = models.FloatField(_("score"))
    reasons = models.JSONField(_("reasons"), default=list)
    status = models.CharField(_("status"), max_length=10, choices=PairStatus.choices, default=PairStatus.OPEN)
    found_at = models.DateTimeField(_("found"))
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("duplicate pair")
        verbose_name_plural = _("duplicate pairs")
        ordering = ["-score", "id"]
        indexes = [models.Index(fields=["status", "-score", "id"], name="quality_pair_status_score")]
        constraints = [
            models.UniqueConstraint(
                fields=["customer_a", "customer_b"], name="%(app_label)s_%(class)s_unique"
            ),
            models.CheckConstraint(
                condition=Q(customer_a__lt=F("customer_b")), name="%(app_label)s_%(class)s_ordered"
            ),
        ]

    def __str__(self):
        return f"{self.customer_a_id} ~ {self.customer_b_id} ({self.score:.2f})"


class CustomerMerge(models.Model):
    """One merge of a customer into a survivor, with what undoing it needs: the merged
    customer's row, the survivor's values before and after, and the moved addresses."""

    survivor = models.ForeignKey(
        "customers.Customer", verbose_name=_("survivor"), on_delete=models.CASCADE, related_name="+"
    )
    merged_id = models.BigIntegerField(_("merged customer id"))
    merged = models.JSONField(_("merged customer"))
    survivor_before = models.JSONField(_("survivor before"))
    survivor_after = models.JSONField(_("survivor after"))
    # [{"id": address id, "is_primary": bool before, "version": version after the move}]
    moved = models.JSONField(_("moved addresses"), default=list)
    score = models.FloatField(_("score"), null=True, blank=True)
    reasons = models.JSONField(_("reasons"), default=list)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("merged by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("merged"))
    undone_at = models.DateTimeField(_("undone"), null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("undone by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("customer merge")
        verbose_name_plural = _("customer merges")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.merged_id} → {self.survivor_id}"


class CustomerAlias(models.Model):
    """The external id of a merged customer, kept so integrations still find the survivor."""

    external_id = models.CharField(_("external id"), max_length=100, unique=True)
    customer = models.ForeignKey(
        "customers.Customer", verbose_name=_("customer"), on_delete=models.CASCADE, related_name="+"
    )
    merge = models.ForeignKey(
        CustomerMerge, verbose_name=_("merge"), on_delete=models.CASCADE, related_name="aliases"
    )

    class Meta:
        verbose_name = _("customer alias")
        verbose_name_plural = _("customer aliases")
        ordering = ["external_id"]

    def __str__(self):
        return self.external_id


class QualitySnapshot(models.Model):
    """The day's quality figures for everything, one province or one owner (taken nightly by
    `quality_snapshot`; the dashboard reads these, never the whole tables)."""

    day = models.DateField(_("day"))
    scope = models.CharField(_("scope"), max_length=10)  # "all", "province" or "owner"
    scope_id = models.BigIntegerField(_("scope id"), default=0)  # the region or user id; 0 for "all"
    figures = models.JSONField(_("figures"))
    taken_at = models.DateTimeField(_("taken"))

    class Meta:
        verbose_name = _("quality snapshot")
        verbose_name_plural = _("quality snapshots")
        ordering = ["-day", "scope", "scope_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["day", "scope", "scope_id"], name="%(app_label)s_%(class)s_unique"
            ),
        ]

    def __str__(self):
        return f"{self.day} {self.scope}:{self.scope_id}"
