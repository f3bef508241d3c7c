from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AddressesConfig(AppConfig):
    name = "addresses"
    verbose_name = _("Addresses")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from addresses import receivers  # noqa: F401  (connects the receivers)
