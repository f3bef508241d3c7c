from django.db import models
from django.utils.translation import gettext_lazy as _


class ActivityKind(models.TextChoices):
    CALL = "call", _("Call")
    VISIT = "visit", _("Visit")
    MEETING = "meeting", _("Meeting")
    EMAIL = "email", _("Email")
    NOTE = "note", _("Note")


class OrderStatus(models.TextChoices):
    OPEN = "open", _("Open")
    PAID = "paid", _("Paid")
    DELIVERED = "delivered", _("Delivered")
    CANCELLED = "cancelled", _("Cancelled")


class Segment(models.TextChoices):
    """RFM segments as Chinese sales teams name them (重要价值客户 …); 流失 when long silent."""

    KEY_VALUE = "key_value", _("Key value")
    KEY_DEVELOP = "key_develop", _("Key development")
    KEY_KEEP = "key_keep", _("Key retention")
    KEY_WINBACK = "key_winback", _("Key win-back")
    VALUE = "value", _("Ordinary value")
    DEVELOP = "develop", _("Ordinary development")
    KEEP = "keep", _("Ordinary retention")
    WINBACK = "winback", _("Ordinary win-back")
    LOST = "lost", _("Lost")
