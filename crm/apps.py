from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CrmConfig(AppConfig):
    name = "crm"
    verbose_name = _("Dizhi CRM")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from crm import checks  # noqa: F401 -- registers the deployment checks
        from crm.replica import replica_connect_receivers

        replica_connect_receivers()
