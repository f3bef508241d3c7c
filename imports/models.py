"""Bulk import jobs and their checkpoints."""

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from geo.choices import LOCATED_GROUPS
from imports.choices import ImportStatus

# A running job whose progress has not moved for this long lost its process (a batch
# commits, and moves `updated_at`, every few seconds).
STALL_AFTER = timedelta(minutes=getattr(settings, "IMPORT_STALL_MINUTES", 10))


class ImportJob(models.Model):
    """One import of one file (command or upload page): options, progress, counts, report.

    A job whose import was interrupted is resumed from its checkpoints by running it again.
    """

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    source_name = models.CharField(_("file name"), max_length=255)
    file_path = models.CharField(_("stored file"), max_length=500)
    file_sha256 = models.CharField(_("file SHA-256"), max_length=64, db_index=True)
    options = models.JSONField(_("options"), default=dict)
    status = models.CharField(
        _("status"), max_length=12, choices=ImportStatus.choices, default=ImportStatus.PENDING
    )
    dry_run = models.BooleanField(_("dry run"), default=False)
    # Uploaded on the import page (its preview is listed there until it is confirmed); the
    # command's jobs, dry runs included, are not.
    uploaded = models.BooleanField(_("uploaded on the import page"), default=False)
    # Fixed when the import first writes: each worker owns the external ids that hash to
    # it, so a resume must split the file the same way (0: not started yet).
    workers = models.PositiveSmallIntegerField(_("writer processes"), default=0)
    total_rows = models.PositiveIntegerField(_("rows in file"), null=True, blank=True)
    rows_done = models.PositiveIntegerField(_("rows processed"), default=0)
    created = models.PositiveIntegerField(_("created"), default=0)
    updated = models.PositiveIntegerField(_("updated"), default=0)
    unchanged = models.PositiveIntegerField(_("unchanged"), default=0)
    rejected = models.PositiveIntegerField(_("rejected"), default=0)
    error = models.TextField(_("error"), blank=True)
    preview = models.JSONField(_("validation preview"), default=dict, blank=True)
    report_path = models.CharField(_("report file"), max_length=500, blank=True)
    seconds = models.FloatField(_("seconds"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        db_table = "addresses_importjob"  # created by the addresses app, before imports had their own
        verbose_name = _("import job")
        verbose_name_plural = _("import jobs")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.source_name} ({self.get_status_display()})"

    @property
    def awaiting_confirmation(self) -> bool:
        """A validated dry run (an upload's preview), nothing written: it is yet to be confirmed."""
        return self.dry_run and self.status == ImportStatus.VALIDATED

    @property
    def status_text(self) -> str:
        """The status as the import page's list of recent imports says it."""
        if self.awaiting_confirmation:
            return gettext("Checked, waiting for confirmation")
        return self.get_status_display()

    @property
    def stalled(self) -> bool:
        """Running or validating, but nothing committed for STALL_AFTER (its process died)."""
        return (
            self.status in (ImportStatus.RUNNING, ImportStatus.VALIDATING)
            and self.updated_at < timezone.now() - STALL_AFTER
        )

    @property
    def resumable(self) -> bool:
        """Stopped before the end; running it again continues after its last committed batch."""
        return self.status == ImportStatus.INTERRUPTED or self.stalled

    @property
    def located(self) -> dict[str, int]:
        """The finished run's addresses per location group: precise, coarse (a region's
        centre) and none (empty before the end, and for jobs of older versions)."""
        located = (self.preview or {}).get("located") or {}
        return {group: located.get(group, 0) for group in LOCATED_GROUPS} if located else {}

    @property
    def located_summary(self) -> str:
        """One sentence on how the addresses of the accepted rows were located, or ""."""
        located = self.located
        if not located:
            return ""
        return gettext(
            "Addresses located: %(precise)s precisely, %(coarse)s to a region's centre, %(none)s not located."
        ) % {group: f"{n:,}" for group, n in located.items()}

    @property
    def percent(self) -> int:
        if not self.total_rows:
            return 100 if self.status == ImportStatus.DONE else 0
        return min(100, round(100 * self.rows_done / self.total_rows))


class ImportCheckpoint(models.Model):
    """How far one import worker got; written in the same transaction as each batch
    (a dry run writes only the checkpoint).

    `rows_done` is the last file row whose batch committed, so a killed import resumes
    right after it; `report_offset` is the size of the worker's report part at that point.
    """

    job = models.ForeignKey(
        ImportJob, verbose_name=_("import job"), on_delete=models.CASCADE, related_name="checkpoints"
    )
    worker = models.PositiveSmallIntegerField(_("worker"), default=0)
    last_row = models.PositiveIntegerField(_("last row"), default=0)
    rows_done = models.PositiveIntegerField(_("rows processed"), default=0)
    created = models.PositiveIntegerField(_("created"), default=0)
    updated = models.PositiveIntegerField(_("updated"), default=0)
    unchanged = models.PositiveIntegerField(_("unchanged"), default=0)
    rejected = models.PositiveIntegerField(_("rejected"), default=0)
    report_offset = models.BigIntegerField(_("report offset"), default=0)
    # The worker's first rejected rows (row, errors), for the page's preview and summary.
    first_errors = models.JSONField(_("first errors"), default=list, blank=True)
    # The worker's addresses so far per location group ("precise", "coarse", "none").
    located = models.JSONField(_("addresses located"), default=dict, blank=True)
    finished = models.BooleanField(_("finished"), default=False)

    class Meta:
        db_table = "addresses_importcheckpoint"
        verbose_name = _("import checkpoint")
        verbose_name_plural = _("import checkpoints")
        ordering = ["job", "worker"]
        constraints = [
            models.UniqueConstraint(
                fields=["job", "worker"], name="addresses_importcheckpoint_one_per_worker"
            ),
        ]

    def __str__(self):
        return f"{self.job_id}/{self.worker} @ {self.last_row}"


class ColumnPreset(models.Model):
    """A team's named column mapping for the files another system exports ({header: field, or
    "-" to leave the column out}); Dizhi's shipped presets live in imports/presets/*.json."""

    name = models.CharField(_("name"), max_length=100)
    team = models.ForeignKey(
        "auth.Group",
        verbose_name=_("team"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text=_("Empty: everyone who imports sees it."),
    )
    mapping = models.JSONField(_("column mapping"), default=dict)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("column preset")
        verbose_name_plural = _("column presets")
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["team", "name"],
                name="imports_columnpreset_unique_name_per_team",
                nulls_distinct=False,
            )
        ]

    def __str__(self):
        return self.name
