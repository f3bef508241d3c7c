from django.db import models
from django.utils.translation import gettext_lazy as _


class ImportStatus(models.TextChoices):
    PENDING = "pending", _("Waiting")
    VALIDATING = "validating", _("Validating")
    VALIDATED = "validated", _("Validated")
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Importing")
    DONE = "done", _("Finished")
    FAILED = "failed", _("Failed")
    INTERRUPTED = "interrupted", _("Interrupted")
