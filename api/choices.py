from django.db import models
from django.utils.translation import gettext_lazy as _


class TokenScope(models.TextChoices):
    READ = "read", _("Read")
    WRITE = "write", _("Read and write")


class WebhookEvent(models.TextChoices):
    CUSTOMER_CREATED = "customer.created", "customer.created"
    CUSTOMER_UPDATED = "customer.updated", "customer.updated"
    CUSTOMER_DELETED = "customer.deleted", "customer.deleted"
    CUSTOMER_MERGED = "customer.merged", "customer.merged"
    ADDRESS_CREATED = "address.created", "address.created"
    ADDRESS_UPDATED = "address.updated", "address.updated"
    ADDRESS_VERIFIED = "address.verified", "address.verified"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    RETRYING = "retrying", _("Retrying")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")
