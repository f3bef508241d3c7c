"""Background work of the import page (django.tasks): validation preview, then the import."""

from django.tasks import task

from addresses.importing import ImportFileError, run_import
from addresses.models import ImportJob, ImportStatus


@task
def import_job_validate(*, job_id: int) -> int:
    """Dry-run the job's file: counts and first errors for the preview; writes nothing."""
    job = ImportJob.objects.get(pk=job_id)
    try:
        return run_import(job, actor=job.created_by).counts.rows
    except ImportFileError:
        return 0


@task
def import_job_run(*, job_id: int) -> int:
    """Import the job's file for real (resumes from its checkpoints if it ran before)."""
    job = ImportJob.objects.get(pk=job_id)
    if job.status == ImportStatus.DONE:
        return job.rows_done
    try:
        return run_import(job, actor=job.created_by).counts.rows
    except ImportFileError:
        return 0
