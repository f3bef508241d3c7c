import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation

from addresses.models import ImportJob
from customers.models import Customer

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
    assert client.get(reverse("addresses:import")).status_code == 403


def test_upload_preview_confirm_and_report(client, manager, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    client.force_login(manager)
    response = client.post(
        reverse("addresses:import"), {"file": SimpleUploadedFile("c.csv", CSV), "crs": "wgs84"}
    )
    job = ImportJob.objects.get()
    assert response.url == reverse("addresses:import_job", args=[job.pk])
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
    report = client.get(reverse("addresses:import_report", args=[job.pk]))
    body = b"".join(report.streaming_content)
    assert body.startswith(b"\xef\xbb\xbf") and b"W2" in body


def test_a_broken_file_shows_the_error(client, manager, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    client.force_login(manager)
    response = client.post(reverse("addresses:import"), {"file": SimpleUploadedFile("c.csv", b"a,b\n1,2\n")})
    page = client.get(response.url).content.decode()
    assert "Required columns are missing" in page


def test_the_template_downloads_and_its_example_row_imports(client, manager, sales, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    client.force_login(sales)
    assert client.get(reverse("addresses:import_template")).status_code == 403
    client.force_login(manager)
    response = client.get(reverse("addresses:import_template"))
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="dizhi-import-template.csv"'
    assert response.content.startswith("\ufeff外部编号,客户名称,".encode())

    client.post(reverse("addresses:import"), {"file": SimpleUploadedFile("template.csv", response.content)})
    job = ImportJob.objects.get()
    assert (job.status, job.created, job.rejected) == ("validated", 1, 0)
    client.post(reverse("addresses:import_job", args=[job.pk]))
    customer = Customer.objects.get()
    assert (customer.external_id, customer.kind, customer.stage) == ("C0001", "enterprise", "potential")
    address = customer.addresses.get()
    assert (address.district.name, address.postcode) == ("南山区", "518057")
