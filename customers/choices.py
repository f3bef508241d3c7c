from django.db import models
from django.utils.translation import gettext_lazy as _


class CustomerKind(models.TextChoices):
    INDIVIDUAL = "individual", _("Individual")
    ENTERPRISE = "enterprise", _("Enterprise")


class RelationshipStage(models.TextChoices):
    POTENTIAL = "potential", _("Potential")
    NEW = "new", _("New")
    EXISTING = "existing", _("Existing")
    CHURNED = "churned", _("Churned")


class TrashKind(models.TextChoices):
    CUSTOMER = "customer", _("Customer")
    ADDRESS = "address", _("Address")
