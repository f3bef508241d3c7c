import re
from datetime import timedelta
from io import StringIO
from types import SimpleNamespace

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone, translation

from customers.models import Customer
from imports.models import ImportJob

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english(settings):
    """Assertions read the English messages (the catalogue translates them to Chinese)."""
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


CSV = "外部编号,客户名称,地址\nW1,好客户,北京市朝阳区建国路88号\nW2,,上海市\n".encode("utf-8-sig")


def test_sales_cannot_open_the_import_page(client, sales):
    client.force_login(sales)
    assert client.get(reverse("imports:upload")).status_code == 403


def test_upload_preview_confirm_and_report(client, manager, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    client.force_login(manager)
    response = client.post(
        reverse("imports:upload"), {"file": SimpleUploadedFile("c.csv", CSV), "crs": "wgs84"}
    )
    job = ImportJob.objects.get()
    assert response.url == reverse("imports:job", args=[job.pk])
    assert job.status == "validated" and job.dry_run and (job.created, job.rejected) == (1, 1)
    assert not Customer.objects.exists()
    page = client.get(response.url).content.decode()
    assert "Row 3" in page and "import-confirm" in page
    client.post(response.url)
    job.refresh_from_db()
    assert (job.status, job.dry_run, job.created, job.rejected) == ("done", False, 1, 1)
    assert Customer.objects.get().external_id == "W1"
    partial = client.get(response.url + "?partial=1").content.decode()
    assert "hx-trigger" not in partial and "import-report" in partial
    report = client.get(reverse("imports:report", args=[job.pk]))
    body = b"".join(report.streaming_content)
    assert body.startswith(b"\xef\xbb\xbf") and b"W2" in body
    history = client.get(reverse("imports:upload")).content.decode()
    row = history[history.index('data-testid="import-history-row"') :].split("</tr>")[0]
    assert "c.csv" in row and "manager1" in row and "Finished" in row
    cells = [c.split(">", 1)[1] for c in row.split("</td>")[-5:-1]]
    assert cells == ["1", "0", "0", "1"]  # created, updated, unchanged, rejected


def _recent_imports(client) -> list[list[str]]:
    """The import page's list of recent imports: the text of each row's cells."""
    page = client.get(reverse("imports:upload")).content.decode()
    rows = re.findall(r'<tr data-testid="import-history-row">(.*?)</tr>', page, re.S)
    return [[re.sub(r"<[^>]+>", "", cell).strip() for cell in row.split("</td>")[:-1]] for row in rows]


def test_an_excel_upload_is_previewed_and_imported(client, manager, settings, tmp_path):
    """A workbook as Excel and LibreOffice save it (shared strings, a number-typed phone)."""
    from openpyxl import Workbook

    settings.MEDIA_ROOT = tmp_path
    wb = Workbook()
    wb.active.append(["外部编号", "客户名称", "手机", "地址"])
    wb.active.append(["X1", "表格客户", 13800138000, "浙江省杭州市西湖区文三路1号"])
    wb.active.append(["X2", None, 13900139000, "上海市"])
    wb.save(tmp_path / "upload.xlsx")
    client.force_login(manager)
    upload = SimpleUploadedFile("客户.xlsx", (tmp_path / "upload.xlsx").read_bytes())
    response = client.post(reverse("imports:upload"), {"file": upload, "crs": "wgs84"})
    job = ImportJob.objects.get()
    assert (job.status, job.total_rows, job.created, job.rejected) == ("validated", 2, 1, 1)
    assert job.preview["format"] == "xlsx"
    assert "Row 3" in client.get(response.url).content.decode()
    client.post(response.url)
    job.refresh_from_db()
    assert (job.status, job.created, job.rejected) == ("done", 1, 1)
    customer = Customer.objects.get()
    assert (customer.external_id, customer.phone) == ("X1", "13800138000")
    assert customer.addresses.get().district.name == "西湖区"


def test_an_upload_not_yet_confirmed_is_listed_until_it_is(client, manager, settings, tmp_path):
    """A manager who leaves the preview finds the upload again on the import page; the
    command's own dry runs are not listed there."""
    settings.MEDIA_ROOT = tmp_path
    client.force_login(manager)
    source = tmp_path / "checked-by-cli.csv"
    source.write_bytes(CSV)
    call_command("import_customers", str(source), "--dry-run", "--progress", "none", stdout=StringIO())
    response = client.post(
        reverse("imports:upload"), {"file": SimpleUploadedFile("客户.csv", CSV), "crs": "wgs84"}
    )
    job = ImportJob.objects.get(uploaded=True)
    assert job.awaiting_confirmation
    rows = _recent_imports(client)
    assert len(rows) == 1  # not the command's dry run
    name, _uploaded, by, status, *counts = rows[0]
    assert (name, by, status) == ("客户.csv", "manager1", "Checked, waiting for confirmation")
    assert counts == ["—"] * 4  # nothing written yet
    page = client.get(reverse("imports:upload")).content.decode()
    assert reverse("imports:job", args=[job.pk]) in page

    client.post(response.url)
    rows = _recent_imports(client)
    assert len(rows) == 1 and rows[0][3] == "Finished" and rows[0][4:] == ["1", "0", "0", "1"]


def test_preview_and_result_say_how_the_addresses_were_located(client, manager, settings, tmp_path):
    """Before confirming, the manager sees how many addresses the import could not locate;
    after it, a link lists those customers."""
    settings.MEDIA_ROOT = tmp_path
    client.force_login(manager)
    csv_bytes = (
        "外部编号,客户名称,地址,经度,纬度\n"
        "G1,区级客户,广东省深圳市南山区科技园南区深南大道9988号,,\n"
        "G2,无法定位,火星市某区,,\n"
        "G3,坐标客户,北京市朝阳区建国路88号,116.4551,39.9088\n"
        "G4,,上海市,,\n"
    ).encode("utf-8-sig")
    response = client.post(
        reverse("imports:upload"), {"file": SimpleUploadedFile("g.csv", csv_bytes), "crs": "wgs84"}
    )
    sentence = "Addresses located: 1 precisely, 1 to a region&#x27;s centre, 1 not located."
    page = client.get(response.url).content.decode()
    assert sentence in page
    assert "import-not-located" not in page  # nothing written yet: nothing to list
    client.post(response.url)
    page = client.get(response.url + "?partial=1").content.decode()
    assert sentence in page
    link = reverse("customers:list") + "?located=none&amp;sort=-updated"
    assert f'href="{link}" data-testid="import-not-located"' in page
    listed = client.get(reverse("customers:list"), {"located": "none"}).content.decode()
    assert "无法定位" in listed and "区级客户" not in listed


def test_a_file_without_the_required_columns_cannot_be_checked_until_they_are_chosen(
    client, manager, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    client.force_login(manager)
    response = client.post(reverse("imports:upload"), {"file": SimpleUploadedFile("c.csv", b"a,b\n1,2\n")})
    assert "/imports/columns/" in response.url
    page = client.post(response.url, {"col-0": "-", "col-1": "-"}).content.decode()
    assert "Required columns are missing" in page and not ImportJob.objects.exists()


def test_the_template_downloads_and_its_example_row_imports(client, manager, sales, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    client.force_login(sales)
    assert client.get(reverse("imports:template")).status_code == 403
    client.force_login(manager)
    response = client.get(reverse("imports:template"))
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="dizhi-import-template.csv"'
    assert response.content.startswith("\ufeff外部编号,客户名称,".encode())

    client.post(reverse("imports:upload"), {"file": SimpleUploadedFile("template.csv", response.content)})
    job = ImportJob.objects.get()
    assert (job.status, job.created, job.rejected) == ("validated", 1, 0)
    client.post(reverse("imports:job", args=[job.pk]))
    customer = Customer.objects.get()
    assert (customer.external_id, customer.kind, customer.stage) == ("C0001", "enterprise", "potential")
    address = customer.addresses.get()
    assert (address.district.name, address.postcode) == ("南山区", "518057")


def _validated_job(client, manager, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    client.force_login(manager)
    client.post(reverse("imports:upload"), {"file": SimpleUploadedFile("c.csv", CSV)})
    return ImportJob.objects.get()


def test_a_stalled_import_offers_to_resume_and_resuming_finishes_it(
    client, manager, settings, tmp_path, monkeypatch
):
    from imports import tasks as tasks_import

    job = _validated_job(client, manager, settings, tmp_path)
    url = reverse("imports:job", args=[job.pk])
    # Confirmed, then its process died before a batch committed: still "running", for an hour.
    monkeypatch.setattr(tasks_import, "import_job_run", SimpleNamespace(enqueue=lambda **kw: None))
    assert tasks_import.import_job_confirm(job)
    monkeypatch.undo()
    ImportJob.objects.filter(pk=job.pk).update(
        status="running", updated_at=timezone.now() - timedelta(hours=1)
    )
    page = client.get(url).content.decode()
    assert "import-resume" in page and "has not moved for" in page
    assert "hx-trigger" not in page  # no polling of a dead job
    client.post(url, {"action": "resume"})
    job.refresh_from_db()
    assert (job.status, job.created, job.rejected) == ("done", 1, 1)
    assert list(Customer.objects.values_list("external_id", flat=True)) == ["W1"]
    assert "import-resume" not in client.get(url).content.decode()


def test_a_running_import_cannot_be_started_twice(client, manager, settings, tmp_path):
    job = _validated_job(client, manager, settings, tmp_path)
    ImportJob.objects.filter(pk=job.pk).update(dry_run=False, status="running", updated_at=timezone.now())
    url = reverse("imports:job", args=[job.pk])
    page = client.get(url).content.decode()
    assert "import-resume" not in page and "hx-trigger" in page
    client.post(url, {"action": "resume"})
    job.refresh_from_db()
    assert job.status == "running" and not Customer.objects.exists()


def test_an_import_that_crashes_is_marked_interrupted_and_resumes(
    client, manager, settings, tmp_path, monkeypatch
):
    from imports import tasks as tasks_import

    job = _validated_job(client, manager, settings, tmp_path)
    url = reverse("imports:job", args=[job.pk])

    def crash(job, **kw):
        raise ConnectionError("server closed the connection unexpectedly")

    monkeypatch.setattr(tasks_import, "run_import", crash)
    client.post(url)  # the task fails (the backend records its error)
    job.refresh_from_db()
    assert job.status == "interrupted" and "server closed the connection" in job.error
    page = client.get(url).content.decode()
    assert "This import stopped before the end." in page and "server closed the connection" in page

    monkeypatch.undo()
    client.post(url, {"action": "resume"})
    job.refresh_from_db()
    assert (job.status, job.error, job.created) == ("done", "", 1)
    assert list(Customer.objects.values_list("external_id", flat=True)) == ["W1"]


def test_the_preview_shows_how_each_column_is_read(client, manager, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    client.force_login(manager)
    data = "外部编号,客户名称,备注,地址,Phone\nW1,好客户,老朋友,北京市朝阳区建国路88号,13800138000\n".encode(
        "gb18030"
    )
    response = client.post(reverse("imports:upload"), {"file": SimpleUploadedFile("c.csv", data)})
    # 备注 is no header Dizhi knows: the manager leaves it out on the column page.
    columns = client.get(response.url).content.decode()
    assert "备注" in columns and "unknown" in columns
    response = client.post(
        response.url,
        {"col-0": "external_id", "col-1": "name", "col-2": "-", "col-3": "address", "col-4": "phone"},
    )
    page = client.get(response.url).content.decode()
    assert "Columns read (CSV, GB18030/GBK)" in page
    assert "<td>外部编号</td><td>External id</td>" in page
    assert "<td>地址</td><td>Address (free text, parsed)</td>" in page
    assert "<td>Phone</td><td>Phone</td>" in page
    assert "Not imported (unknown headers): 备注" in page


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.thread_tasks
def test_a_big_upload_is_validated_and_written_by_workers_started_from_the_task_thread(
    client, manager, settings, tmp_path
):
    """The task thread must not fork: its workers are fresh interpreters on the same database."""
    from django.db import connection

    from crm.tasks_thread import wait_idle

    settings.MEDIA_ROOT = tmp_path
    settings.IMPORT_WORKERS = 2
    settings.IMPORT_PARALLEL_MIN_ROWS = 100
    lines = ["外部编号,客户名称,地址"]
    for i in range(600):
        lines.append(f"P{i:04d},客户{i},广东省深圳市南山区科技路{i}号")
    lines[101] = "P0100,,广东省深圳市南山区科技路100号"  # no name: rejected (file row 102)
    lines.append("P0007,重复,北京市")  # repeats P0007: rejected (file row 602)
    client.force_login(manager)
    response = client.post(
        reverse("imports:upload"),
        {"file": SimpleUploadedFile("big.csv", "\n".join(lines).encode("utf-8"))},
    )
    # SQLite's test database lives in memory, out of other processes' reach: one worker there.
    workers = 2 if connection.vendor == "postgresql" else 1
    wait_idle(timeout=60)
    job = ImportJob.objects.get()
    assert (job.status, job.total_rows, job.created, job.rejected) == ("validated", 601, 599, 2)
    assert job.workers == workers and not Customer.objects.exists()
    page = client.get(response.url).content.decode()
    assert "Row 102" in page and "Row 602" in page  # each worker's first errors, in row order
    client.post(response.url)
    wait_idle(timeout=180)
    job.refresh_from_db()
    assert (job.status, job.error, job.created, job.rejected) == ("done", "", 599, 2), job.error
    assert job.workers == workers
    assert [e["row"] for e in job.preview["first_errors"]] == [102, 602]
    assert Customer.objects.count() == 599
    assert Customer.objects.get(external_id="P0007").name == "客户7"
    report = client.get(reverse("imports:report", args=[job.pk]))
    body = b"".join(report.streaming_content).decode("utf-8-sig")
    assert [line.split(",")[0] for line in body.splitlines()[1:]] == ["102", "602"]


def test_the_chinese_page_names_the_counts_and_groups_thousands(client, manager, settings, tmp_path):
    from django.template import Context, Template

    job = _validated_job(client, manager, settings, tmp_path)
    client.post(reverse("imports:job", args=[job.pk]))
    with translation.override("zh-hans"):
        page = client.get(reverse("imports:job", args=[job.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans")
        body = page.content.decode()
        assert '<th scope="row">新建</th>' in body and '<th scope="row">拒绝</th>' in body
        assert "创建时间" not in body  # the customer's "Created" (a date), not the import's count
        assert Template("{% load humanize %}{{ n|intcomma }}").render(Context({"n": 1234567})) == "1,234,567"


def test_a_stalled_validation_continues_after_the_rows_it_already_checked(
    client, manager, settings, tmp_path
):
    from imports.models import ImportCheckpoint

    job = _validated_job(client, manager, settings, tmp_path)
    url = reverse("imports:job", args=[job.pk])
    # Its process died after checking row 2 and before row 3. The checkpoint's counts are
    # marked (7 to create, not 1), so what the resumed check adds to them shows.
    ImportCheckpoint.objects.filter(job=job).update(
        finished=False, last_row=2, rows_done=7, created=7, rejected=0, first_errors=[], report_offset=0
    )
    ImportJob.objects.filter(pk=job.pk).update(
        status="validating", updated_at=timezone.now() - timedelta(hours=1)
    )
    page = client.get(url).content.decode()
    assert "checking continues after the rows already checked" in page and "import-resume" in page
    client.post(url, {"action": "resume"})
    job.refresh_from_db()
    # Only row 3 was checked (rejected); starting over would have found 1 to create, not 7.
    assert (job.status, job.created, job.rejected, job.rows_done) == ("validated", 7, 1, 8)
    assert [e["row"] for e in job.preview["first_errors"]] == [3]
    assert not Customer.objects.exists()


def test_confirming_an_upload_twice_queues_one_run(client, manager, settings, tmp_path, monkeypatch):
    """Two confirmations at once (a double click, two tabs) each read the job as awaiting
    confirmation; only one may queue the import (issue #30, item 7)."""
    from imports import tasks as tasks_import

    job = _validated_job(client, manager, settings, tmp_path)
    first, second = ImportJob.objects.get(pk=job.pk), ImportJob.objects.get(pk=job.pk)
    queued = []
    monkeypatch.setattr(
        tasks_import, "import_job_run", SimpleNamespace(enqueue=lambda **kw: queued.append(kw))
    )
    assert first.awaiting_confirmation and second.awaiting_confirmation
    assert tasks_import.import_job_confirm(first) is True
    assert tasks_import.import_job_confirm(second) is False
    assert queued == [{"job_id": job.pk}]
    # And through the page: a second POST of the confirm button queues nothing more.
    client.post(reverse("imports:job", args=[job.pk]))
    assert len(queued) == 1


def test_resuming_twice_queues_one_run(client, manager, settings, tmp_path, monkeypatch):
    from imports import tasks as tasks_import

    job = _validated_job(client, manager, settings, tmp_path)
    ImportJob.objects.filter(pk=job.pk).update(dry_run=False, status="interrupted")
    first, second = ImportJob.objects.get(pk=job.pk), ImportJob.objects.get(pk=job.pk)
    queued = []
    monkeypatch.setattr(
        tasks_import, "import_job_run", SimpleNamespace(enqueue=lambda **kw: queued.append(kw))
    )
    assert tasks_import.import_job_resume(first) is True
    assert tasks_import.import_job_resume(second) is False
    assert len(queued) == 1
