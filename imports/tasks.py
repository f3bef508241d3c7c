"""Background work of the import page (django.tasks): validation preview, then the import."""

from django.conf import settings
from django.db import transaction
from django.tasks import task
from django.utils import translation

from imports.jobs import run_import
from imports.models import ImportCheckpoint, ImportJob, ImportStatus
from imports.reading import ImportFileError


def _run(job: ImportJob) -> int:
    try:
        # The preview's and the report's messages in the uploader's language, not the server's.
        with translation.override((job.options or {}).get("language") or translation.get_language()):
            return run_import(
                job,
                actor=job.created_by,
                workers=settings.IMPORT_WORKERS,
                parallel_from_rows=settings.IMPORT_PARALLEL_MIN_ROWS,
            ).counts.rows
    except ImportFileError:
        return 0  # the job says why (status failed)
    except Exception as exc:
        # The committed batches stay; the page offers to resume after them.
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportStatus.INTERRUPTED, error=f"{type(exc).__name__}: {exc}"[:2000]
        )
        raise


@task
def import_job_validate(*, job_id: int) -> int:
    """Dry-run the job's file: counts and first errors for the preview; writes nothing."""
    return _run(ImportJob.objects.get(pk=job_id))


@task
def import_job_run(*, job_id: int) -> int:
    """Import the job's file for real (resumes from its checkpoints if it ran before)."""
    job = ImportJob.objects.get(pk=job_id)
    if job.status == ImportStatus.DONE:
        return job.rows_done
    return _run(job)


@transaction.atomic
def import_job_confirm(job: ImportJob) -> bool:
    """Turn a validated preview into the import itself, queued; False if it is not one.

    The claim is one conditional UPDATE: of two confirmations at once (a double click, two
    tabs), only the one that turns the preview into a queued import queues a run."""
    claimed = ImportJob.objects.filter(pk=job.pk, dry_run=True, status=ImportStatus.VALIDATED).update(
        dry_run=False,
        workers=0,
        status=ImportStatus.QUEUED,
        rows_done=0,
        created=0,
        updated=0,
        unchanged=0,
        rejected=0,
        report_path="",
        seconds=None,
    )
    if not claimed:
        return False
    # The validation's checkpoints say how far it read, not what the import wrote.
    ImportCheckpoint.objects.filter(job=job).delete()
    import_job_run.enqueue(job_id=job.pk)  # the database backend queues it in this transaction
    return True


def import_job_resume(job: ImportJob) -> bool:
    """Queue an interrupted or stalled job again (it continues after its committed batches)."""
    if not job.resumable:
        return False
    # Claimed like a confirmation: only the request that moves the job from the state it saw queues it.
    if not ImportJob.objects.filter(pk=job.pk, status=job.status).update(
        status=ImportStatus.QUEUED, error=""
    ):
        return False
    (import_job_validate if job.dry_run else import_job_run).enqueue(job_id=job.pk)
    return True
