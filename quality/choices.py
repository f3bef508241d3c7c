from django.db import models
from django.utils.translation import gettext_lazy as _


class PairStatus(models.TextChoices):
    OPEN = "open", _("Open")
    MERGED = "merged", _("Merged")
    DISMISSED = "dismissed", _("Not a duplicate")


class KeyKind(models.TextChoices):
    PHONE = "phone", _("Phone")
    EMAIL = "email", _("Email")
    NAME = "name", _("Name in city")
    ADDRESS = "address", _("Address")


class SubmissionStatus(models.TextChoices):
    APPLIED = "applied", _("Applied")
    PENDING = "pending", _("Waiting for review")
    REJECTED = "rejected", _("Rejected")


class SubmissionAction(models.TextChoices):
    CONFIRM = "confirm", _("Confirmed")
    CORRECT = "correct", _("Corrected")
