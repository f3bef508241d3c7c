"""Production's queue: TASKS_BACKEND=database, with `manage.py db_worker` running the import."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from customers.models import Customer
from imports.models import ImportJob


@pytest.fixture
def database_queue(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


def run_queue():
    """What `manage.py db_worker` does in production, until the queue is empty."""
    call_command("db_worker", "--batch", "--no-startup-delay", "--interval", "0.1", stdout=io.StringIO())


@pytest.mark.django_db(transaction=True)
def test_an_upload_waits_in_the_queue_until_db_worker_validates_and_imports_it(
    client, manager, settings, tmp_path, database_queue
):
    settings.MEDIA_ROOT = tmp_path
    settings.LANGUAGE_CODE = "en"
    client.force_login(manager)
    data = "外部编号,客户名称,地址\nQ1,好客户,北京市朝阳区建国路88号\nQ2,,上海市\n".encode("utf-8-sig")
    response = client.post(reverse("imports:upload"), {"file": SimpleUploadedFile("q.csv", data)})
    job = ImportJob.objects.get()
    assert job.status == "pending" and DBTaskResult.objects.count() == 1
    page = client.get(response.url).content.decode()
    assert "hx-trigger" in page  # the page polls while the task waits

    run_queue()
    job.refresh_from_db()
    assert (job.status, job.created, job.rejected) == ("validated", 1, 1)
    assert not Customer.objects.exists()

    client.post(response.url)  # confirm: queued again, nothing written yet
    job.refresh_from_db()
    assert job.status == "queued" and not Customer.objects.exists()
    run_queue()
    job.refresh_from_db()
    assert (job.status, job.created, job.rejected) == ("done", 1, 1)
    assert list(Customer.objects.values_list("external_id", flat=True)) == ["Q1"]
    assert set(DBTaskResult.objects.values_list("status", flat=True)) == {"SUCCESSFUL"}
