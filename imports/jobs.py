"""Import jobs: one per file and options, resumable from its checkpoints; `run_import` runs one
(or validates it, for a dry run) with one or more writer processes (imports.workers)."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.db import connections
from django.utils import timezone
from django.utils.translation import gettext as _

from geo.choices import CoordinateSystem
from imports.columns import map_columns
from imports.models import ImportJob, ImportStatus
from imports.reading import MAX_ROWS, ImportFileError, encoding_label, open_table
from imports.reports import default_report_path, merge_reports
from imports.workers import default_batch_size, rows_committed, run_parallel, run_worker
from imports.writing import Counts

logger = logging.getLogger(__name__)


@dataclass
class ImportResult:
    job: ImportJob
    counts: Counts
    seconds: float
    report_path: str | None
    resumed_from: int = 0
    ignored_columns: list[str] = field(default_factory=list)
    first_errors: list[dict] = field(default_factory=list)

    @property
    def rows_per_second(self) -> float:
        return self.counts.rows / self.seconds if self.seconds else 0.0

    def summary(self) -> str:
        c = self.counts
        text = _(
            "created %(created)s, updated %(updated)s, unchanged %(unchanged)s, rejected %(rejected)s — "
            "%(rows)s rows in %(seconds).1f s (%(rate)s rows/s)"
        ) % {
            "created": f"{c.created:,}",
            "updated": f"{c.updated:,}",
            "unchanged": f"{c.unchanged:,}",
            "rejected": f"{c.rejected:,}",
            "rows": f"{c.rows:,}",
            "seconds": self.seconds,
            "rate": f"{self.rows_per_second:,.0f}",
        }
        if self.job.dry_run:
            text = _("Dry run, nothing written: ") + text
        if self.job.located_summary:
            text += "\n" + self.job.located_summary
        if not self.job.dry_run and c.created == 0 and c.updated == 0 and c.rows:
            text += "\n" + _("Nothing changed: every row is already up to date.")
        return text


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 22):
            h.update(chunk)
    return h.hexdigest()


def job_for_file(
    path: str | Path, *, options: dict, actor=None, dry_run=False, source_name=None, uploaded=False
) -> ImportJob:
    """The unfinished job of this same file and options (to resume), or a new one
    (`uploaded`: on the import page)."""
    path = Path(path).resolve()
    digest = file_sha256(path)
    if not dry_run:
        job = (
            ImportJob.objects.filter(file_sha256=digest, options=options, dry_run=False)
            .exclude(status__in=[ImportStatus.DONE, ImportStatus.FAILED])
            .order_by("-id")
            .first()
        )
        if job is not None:
            return job
    return ImportJob.objects.create(
        created_by=actor if actor is not None and getattr(actor, "pk", None) else None,
        source_name=source_name or path.name,
        file_path=str(path),
        file_sha256=digest,
        options=options,
        dry_run=dry_run,
        uploaded=uploaded,
    )


ProgressFn = Callable[[int, int | None], None]


def run_import(
    job: ImportJob,
    *,
    actor=None,
    report_path: str | Path | None = None,
    progress: ProgressFn | None = None,
    workers: int = 1,
    parallel_from_rows: int = 0,
) -> ImportResult:
    """Import (or, for a dry-run job, validate) the job's file; resumes from its checkpoints.

    `workers` processes share the rows (see writer_processes), for files of at least
    `parallel_from_rows` rows.
    """
    started = time.perf_counter()
    table, columns, crs = _open_job_file(job)
    report_path = Path(report_path or job.report_path or default_report_path(job))
    report_path.parent.mkdir(parents=True, exist_ok=True)
    resumed_from = rows_committed(job)
    workers = writer_processes(job, workers, table.estimated_rows, parallel_from_rows)
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportStatus.VALIDATING if job.dry_run else ImportStatus.RUNNING,
        updated_at=timezone.now(),
        total_rows=table.estimated_rows,
        report_path=str(report_path),
        error="",
        workers=workers,
    )
    ctx = dict(
        table=table,
        columns=columns,
        crs=crs,
        actor=actor,
        report_base=report_path,
        batch_size=(job.options or {}).get("batch_size") or default_batch_size(table.estimated_rows),
    )
    if workers == 1:
        counts, first_errors = run_worker(job, 0, 1, progress=progress, **ctx)
    else:
        counts, first_errors = run_parallel(job, workers, progress=progress, **ctx)
    merge_reports(report_path, table.headers, workers)
    if counts.rejected == 0 and report_path.exists():
        report_path.unlink()
    seconds = time.perf_counter() - started
    _finish_job(job, counts, first_errors, table, columns, report_path, seconds)
    return ImportResult(
        job,
        counts,
        seconds,
        str(report_path) if counts.rejected else None,
        resumed_from,
        columns.ignored,
        first_errors,
    )


def _open_job_file(job: ImportJob):
    """(table, column map, coordinate system) of the job's file; a file that cannot be imported
    fails the job with the reason (ImportFileError)."""
    opts = job.options or {}
    try:
        table = open_table(job.file_path, max_rows=opts.get("max_rows", MAX_ROWS))
        columns = map_columns(table.headers, opts.get("map"))
        crs = opts.get("crs") or CoordinateSystem.WGS84
        if crs not in CoordinateSystem.values:
            raise ImportFileError(_("Unknown coordinate system “%(crs)s”.") % {"crs": crs})
        if table.estimated_rows == 0:
            raise ImportFileError(_("The file has a header but no rows."))
    except ImportFileError as exc:
        ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.FAILED, error=str(exc))
        job.status, job.error = ImportStatus.FAILED, str(exc)
        raise
    return table, columns, crs


def _finish_job(
    job: ImportJob, counts, first_errors, table, columns, report_path: Path, seconds: float
) -> None:
    """Record the run's outcome on the job (the page's summary and preview read it)."""
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportStatus.VALIDATED if job.dry_run else ImportStatus.DONE,
        updated_at=timezone.now(),
        rows_done=counts.rows,
        total_rows=counts.rows,
        created=counts.created,
        updated=counts.updated,
        unchanged=counts.unchanged,
        rejected=counts.rejected,
        report_path=str(report_path) if counts.rejected else "",
        seconds=seconds,
        preview={
            "first_errors": first_errors,
            "located": counts.located,
            "ignored_columns": columns.ignored,
            "columns": [
                [table.headers[i], f] for f, i in sorted(columns.index.items(), key=lambda fi: fi[1])
            ],
            "encoding": encoding_label(table.encoding),
            "format": table.format,
        },
    )
    job.refresh_from_db()


def writer_processes(job: ImportJob, asked: int, rows: int, parallel_from_rows: int = 0) -> int:
    """How many processes import (or validate) this job: fixed by its first run, so a
    resume splits the file alike.

    Each worker owns the external ids that hash to it and checkpoints its own rows; resuming
    with another count would skip rows another worker had not reached yet. Files under
    `parallel_from_rows` rows get one (a fresh worker process takes a second to start).
    """
    if job.workers:
        return job.workers
    connection = connections["default"]
    if connection.vendor == "sqlite" and connection.is_in_memory_db():
        return 1  # no other process can reach an in-memory database
    if rows < parallel_from_rows:
        return 1
    return max(1, asked)
