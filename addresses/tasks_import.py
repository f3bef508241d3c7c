"""Background work of the import page (django.tasks): validation preview, then the import."""

from django.tasks import task
from django.utils import translation

from addresses.importing import ImportFileError, run_import
from addresses.models import ImportJob, ImportStatus


def _run(job_id: int) -> int:
    job = ImportJob.objects.get(pk=job_id)
    try:
        # The preview's and the report's messages in the uploader's language, not the server's.
        with translation.override((job.options or {}).get("language") or translation.get_language()):
            return run_import(job, actor=job.created_by).counts.rows
    except ImportFileError:
        return 0  # the job says why (status failed)
    except Exception as exc:
        # The committed batches stay; the page offers to resume after them.
        ImportJob.objects.filter(pk=job_id).update(
            status=ImportStatus.INTERRUPTED, error=f"{type(exc).__name__}: {exc}"[:2000]
        )
        raise


@task
def import_job_validate(*, job_id: int) -> int:
    """Dry-run the job's file: counts and first errors for the preview; writes nothing."""
    return _run(job_id)


@task
def import_job_run(*, job_id: int) -> int:
    """Import the job's file for real (resumes from its checkpoints if it ran before)."""
    if ImportJob.objects.filter(pk=job_id, status=ImportStatus.DONE).exists():
        return ImportJob.objects.get(pk=job_id).rows_done
    return _run(job_id)
