from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditAction(models.TextChoices):
    """What an audit entry records."""

    CUSTOMER_VIEW = "customer_view", _("Opened a customer page")
    REVEAL = "reveal", _("Revealed a personal field")
    EXPORT = "export", _("Exported customers")
    IMPORT = "import", _("Imported customers")
    LOGIN = "login", _("Logged in")
    LOGIN_FAILED = "login_failed", _("Failed to log in")
    LOGOUT = "logout", _("Logged out")
    ROLE_CHANGE = "role_change", _("Changed roles")
    TERRITORY_CHANGE = "territory_change", _("Changed territories")
    CUSTOMER_DELETE = "customer_delete", _("Deleted customers")
    SUBJECT_EXPORT = "subject_export", _("Exported a customer's personal data")
