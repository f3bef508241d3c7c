"""Customer 360 and analysis: the people at a customer, what we did with them, what they bought,
and the scores computed from it (RFM, lifecycle). Written only by analysis/services.py."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from analysis.choices import ActivityKind, OrderStatus, Segment


class Contact(models.Model):
    """A person at a customer we talk to (buyer, manager, receiver of goods)."""

    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="contacts",
        db_index=False,  # led by the (customer, name) index below
    )
    name = models.CharField(_("name"), max_length=100)
    title = models.CharField(_("title"), max_length=100, blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    mobile = models.CharField(_("mobile"), max_length=40, blank=True)
    email = models.EmailField(_("email"), blank=True)
    is_primary = models.BooleanField(_("primary"), default=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        ordering = ["customer", "-is_primary", "name", "id"]
        indexes = [models.Index(fields=["customer", "name"], name="analysis_contact_customer_name")]
        constraints = [
            models.UniqueConstraint(
                fields=["customer"],
                condition=Q(is_primary=True),
                name="%(app_label)s_%(class)s_one_primary_per_customer",
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.title})" if self.title else self.name


_LAT = [MinValueValidator(-90), MaxValueValidator(90)]
_LNG = [MinValueValidator(-180), MaxValueValidator(180)]


class Activity(models.Model):
    """A call, visit, meeting, email or note on a customer's timeline; with a due date it is also
    a follow-up for its assignee until done. A visit logged on the spot keeps where (WGS-84)."""

    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="activities",
        db_index=False,  # led by the (customer, occurred_at) index below
    )
    kind = models.CharField(_("kind"), max_length=10, choices=ActivityKind.choices, default=ActivityKind.NOTE)
    subject = models.CharField(_("subject"), max_length=200)
    note = models.TextField(_("note"), blank=True)
    occurred_at = models.DateTimeField(_("when"))
    contact = models.ForeignKey(
        Contact,
        verbose_name=_("contact"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="activities",
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    lat = models.DecimalField(
        _("latitude"), max_digits=9, decimal_places=6, null=True, blank=True, validators=_LAT
    )
    lng = models.DecimalField(
        _("longitude"), max_digits=9, decimal_places=6, null=True, blank=True, validators=_LNG
    )
    follow_up_on = models.DateField(_("follow up on"), null=True, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("follow-up owner"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="follow_ups",
        db_index=False,  # led by the open follow-ups index below
    )
    done_at = models.DateTimeField(_("done"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("activity")
        verbose_name_plural = _("activities")
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["customer", "-occurred_at"], name="analysis_activity_timeline"),
            # "My follow-ups": open ones only.
            models.Index(
                fields=["assignee", "follow_up_on"],
                condition=Q(follow_up_on__isnull=False, done_at__isnull=True),
                name="analysis_activity_open_follow",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(lat__isnull=True, lng__isnull=True) | Q(lat__isnull=False, lng__isnull=False),
                name="%(app_label)s_%(class)s_point_complete",
            ),
        ]

    def __str__(self):
        return self.subject

    @property
    def is_open_follow_up(self) -> bool:
        return self.follow_up_on is not None and self.done_at is None


class Order(models.Model):
    """A sale to a customer: number (unique, the upsert key), date, amount in its currency and in
    the base currency (ANALYSIS_BASE_CURRENCY, converted at write time), delivery address."""

    number = models.CharField(_("order number"), max_length=64)
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="orders",
        db_index=False,  # led by the (customer, ordered_on) index below
    )
    ordered_on = models.DateField(_("order date"))
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    # The amount in the base currency: revenue sums one column, whatever the order's currency.
    amount_base = models.DecimalField(_("amount (base currency)"), max_digits=16, decimal_places=2)
    status = models.CharField(
        _("status"), max_length=10, choices=OrderStatus.choices, default=OrderStatus.OPEN
    )
    delivery_address = models.ForeignKey(
        "addresses.Address",
        verbose_name=_("delivery address"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="orders",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-ordered_on", "-id"]
        indexes = [
            models.Index(fields=["customer", "-ordered_on"], name="analysis_order_customer_date"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["number"], name="%(app_label)s_%(class)s_unique_number"),
            models.CheckConstraint(
                condition=Q(amount__gte=0), name="%(app_label)s_%(class)s_amount_not_negative"
            ),
        ]

    def __str__(self):
        return self.number

    @property
    def counts_as_revenue(self) -> bool:
        return self.status != OrderStatus.CANCELLED


class CustomerScore(models.Model):
    """What a customer's orders say about them, recomputed for all customers at once by
    `scores_recompute` (RFM quintiles 1-5, segment, usual interval, churn risk)."""

    customer = models.OneToOneField(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="score",
    )
    order_count = models.PositiveIntegerField(_("orders"))
    revenue = models.DecimalField(_("revenue"), max_digits=18, decimal_places=2)
    revenue_last_year = models.DecimalField(
        _("revenue in the last 12 months"), max_digits=18, decimal_places=2
    )
    first_order_on = models.DateField(_("first order"))
    last_order_on = models.DateField(_("last order"))
    days_since_last = models.PositiveIntegerField(_("days since last order"))
    usual_interval_days = models.PositiveIntegerField(_("usual interval (days)"), null=True, blank=True)
    recency = models.PositiveSmallIntegerField(_("recency score"))
    frequency = models.PositiveSmallIntegerField(_("frequency score"))
    monetary = models.PositiveSmallIntegerField(_("monetary score"))
    segment = models.CharField(_("segment"), max_length=12, choices=Segment.choices)
    churn_risk = models.BooleanField(_("churn risk"), default=False)
    computed_on = models.DateField(_("computed on"))

    class Meta:
        verbose_name = _("customer score")
        verbose_name_plural = _("customer scores")
        ordering = ["customer"]
        indexes = [
            models.Index(fields=["segment"], name="analysis_score_segment"),
            models.Index(
                fields=["churn_risk"], condition=Q(churn_risk=True), name="analysis_score_churn_risk"
            ),
        ]

    def __str__(self):
        return f"{self.customer_id}: {self.segment}"
