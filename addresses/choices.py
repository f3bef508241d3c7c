from django.db import models
from django.utils.translation import gettext_lazy as _


class AddressKind(models.TextChoices):
    REGISTERED = "registered", _("Registered")
    BILLING = "billing", _("Billing")
    DELIVERY = "delivery", _("Delivery")
    HOME = "home", _("Home")
    OTHER = "other", _("Other")


class Channel(models.TextChoices):
    """Where a change to an address came from (recorded in its history)."""

    FORM = "form", _("Form")
    ADMIN = "admin", _("Admin")
    IMPORT = "import", _("Import")
    API = "api", _("API")
    SELF_SERVICE = "self_service", _("Self-service")
    SYSTEM = "system", _("System")
    DELETION = "deletion", _("Deletion")
