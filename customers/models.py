from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from crm.db.search_keys import SearchKeysField
from customers.choices import CustomerKind, RelationshipStage, TrashKind
from customers.querysets import CustomerQuerySet, TrashItemQuerySet


class Customer(models.Model):
    """A person or company we sell to; where they are lives in `addresses`."""

    name = models.CharField(_("name"), max_length=200, db_collation=settings.PINYIN_COLLATION)
    kind = models.CharField(
        _("kind"), max_length=12, choices=CustomerKind.choices, default=CustomerKind.ENTERPRISE
    )
    stage = models.CharField(
        _("relationship stage"),
        max_length=12,
        choices=RelationshipStage.choices,
        default=RelationshipStage.POTENTIAL,
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="customers",
        db_index=False,  # led by the (owner, name) index below
    )
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    email = models.EmailField(_("email"), blank=True)
    # Unique by a constraint (Meta), not unique=True: that would add a second, LIKE-only index.
    external_id = models.CharField(_("external id"), max_length=100, null=True, blank=True)
    # Keys of the name's character pairs, for the list's search (crm.db.search_keys; GIN-indexed
    # on PostgreSQL by customers/migrations/0007).
    search_keys = SearchKeysField(_("search keys"), source=("name",))
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True, db_index=True)

    objects = CustomerQuerySet.as_manager()

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["name", "id"]
        indexes = [
            models.Index(fields=["name", "id"], name="customers_customer_name_id"),
            # A salesperson's own customers; customers nobody owns are not indexed.
            models.Index(
                fields=["owner", "name"],
                condition=Q(owner__isnull=False),
                name="customers_customer_owner_name",
            ),
            models.Index(fields=["stage", "name"], name="customers_customer_stage_name"),
            models.Index(fields=["kind", "name"], name="customers_customer_kind_name"),
            # Phone search is a prefix match: customers_customer_phone_prefix (PostgreSQL,
            # customers/migrations/0002) serves it, and equality too.
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["external_id"], name="%(app_label)s_%(class)s_unique_external_id"
            ),
            models.CheckConstraint(
                condition=~Q(external_id=""), name="%(app_label)s_%(class)s_external_id_not_blank"
            ),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("customers:detail", args=[self.pk])


class Territory(models.Model):
    """A region assigned to a sales user: they see every customer with an address in it."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="territories",
    )
    region = models.ForeignKey(
        "geo.Region", verbose_name=_("region"), on_delete=models.CASCADE, related_name="territories"
    )

    class Meta:
        verbose_name = _("territory")
        verbose_name_plural = _("territories")
        ordering = ["user", "region"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "region"], name="%(app_label)s_%(class)s_unique_user_region"
            ),
        ]

    def __str__(self):
        return f"{self.user} · {self.region}"


class TrashItem(models.Model):
    """A deleted customer or address, kept restorable for settings.TRASH_DAYS: the rows as they
    were (with the addresses' history, so a restored chain still verifies) and who deleted it."""

    kind = models.CharField(_("kind"), max_length=12, choices=TrashKind.choices)
    customer_id = models.BigIntegerField(_("customer id"), db_index=True)
    object_id = models.BigIntegerField(_("object id"))
    label = models.CharField(_("what"), max_length=400)
    customer_name = models.CharField(_("customer"), max_length=200)
    payload = models.JSONField(_("rows"))
    deleted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("deleted by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    deleted_at = models.DateTimeField(_("deleted"), db_index=True)
    restored_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("restored by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    restored_at = models.DateTimeField(_("restored"), null=True, blank=True)

    objects = TrashItemQuerySet.as_manager()

    class Meta:
        verbose_name = _("trash item")
        verbose_name_plural = _("trash")
        ordering = ["-deleted_at", "-id"]

    def __str__(self):
        return f"{self.get_kind_display()} {self.label}"
