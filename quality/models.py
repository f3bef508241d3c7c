from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from quality.choices import KeyKind, PairStatus, SubmissionAction, SubmissionStatus


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


class SelfServiceLink(models.Model):
    """A single-use, expiring link a customer opens to confirm or correct their addresses. Only
    a hash of its signed token is stored: the link itself cannot be read back or guessed."""

    customer = models.ForeignKey(
        "customers.Customer", verbose_name=_("customer"), on_delete=models.CASCADE, related_name="+"
    )
    token_hash = models.CharField(_("token hash"), max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"))
    expires_at = models.DateTimeField(_("expires"))
    sent_to = models.CharField(_("sent to"), max_length=254, blank=True)
    used_at = models.DateTimeField(_("used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        verbose_name = _("self-service link")
        verbose_name_plural = _("self-service links")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.customer_id} {self.created_at:%Y-%m-%d}"


class SelfServiceSubmission(models.Model):
    """What a customer answered for one address through a link: kept whether it was applied,
    is waiting for review (a setting, or text that could not be parsed) or was rejected."""

    link = models.ForeignKey(
        SelfServiceLink, verbose_name=_("link"), on_delete=models.CASCADE, related_name="submissions"
    )
    customer = models.ForeignKey(
        "customers.Customer", verbose_name=_("customer"), on_delete=models.CASCADE, related_name="+"
    )
    address = models.ForeignKey(
        "addresses.Address", verbose_name=_("address"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(_("action"), max_length=10, choices=SubmissionAction.choices)
    raw_text = models.TextField(_("address as entered"), blank=True)
    status = models.CharField(_("status"), max_length=10, choices=SubmissionStatus.choices)
    problem = models.TextField(_("problem"), blank=True)
    created_at = models.DateTimeField(_("submitted"))
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
        verbose_name = _("self-service answer")
        verbose_name_plural = _("self-service answers")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "created_at"], name="quality_submission_status")]

    def __str__(self):
        return f"{self.customer_id} {self.action} {self.status}"


class PointsEntry(models.Model):
    """Points a customer earned for keeping their data current (QUALITY_POINTS rules)."""

    customer = models.ForeignKey(
        "customers.Customer", verbose_name=_("customer"), on_delete=models.CASCADE, related_name="+"
    )
    points = models.IntegerField(_("points"))
    reason = models.CharField(_("reason"), max_length=10, choices=SubmissionAction.choices)
    address = models.ForeignKey(
        "addresses.Address", verbose_name=_("address"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    submission = models.ForeignKey(
        SelfServiceSubmission,
        verbose_name=_("answer"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("time"))

    class Meta:
        verbose_name = _("points entry")
        verbose_name_plural = _("points entries")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["customer", "created_at"], name="quality_points_customer")]

    def __str__(self):
        return f"{self.customer_id} {self.points:+d}"


class ReminderDigest(models.Model):
    """One weekly reminder e-mail to a salesperson, claimed before it is sent, so a run that was
    stopped and started again sends nobody a second one."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="+"
    )
    week = models.DateField(_("week"))  # its Monday
    addresses = models.PositiveIntegerField(_("addresses"), default=0)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        verbose_name = _("reminder digest")
        verbose_name_plural = _("reminder digests")
        ordering = ["-week", "user"]
        constraints = [
            models.UniqueConstraint(fields=["user", "week"], name="%(app_label)s_%(class)s_unique")
        ]

    def __str__(self):
        return f"{self.user_id} {self.week}"
