"""Upload page, end to end: a file with good and bad rows, its preview, the import, the report."""

import pytest

from crm import roles
from customers.models import Customer
from tests.browser.conftest import new_context

pytestmark = [pytest.mark.browser, pytest.mark.thread_tasks]


@pytest.fixture
def import_page(browser, live_server, base_data, settings, tmp_path):
    """An English page (the test reads button labels) that fails the test on a console error."""
    settings.MEDIA_ROOT = tmp_path / "media"
    context = new_context(browser, locale="en-US")
    context.set_default_timeout(15_000)
    yield context.new_page()
    errors = list(context.console_errors)
    context.close()
    assert not errors, "JavaScript errors:\n" + "\n".join(errors)


def test_upload_watch_progress_and_download_the_report(import_page, live_server, login, make_user, tmp_path):
    page = import_page
    login(page, make_user("boss", role=roles.MANAGER))

    upload = tmp_path / "客户.csv"
    upload.write_bytes(
        "外部编号,客户名称,手机,地址,负责人\n"
        "B1,北京客户,13800138000,北京市朝阳区建国路88号,\n"
        "B2,上海客户,,上海市浦东新区世纪大道100号,\n"
        "B3,,,广州市天河区,\n"
        "B4,坏负责人,,深圳市南山区,ghost\n".encode("utf-8-sig")
    )
    page.goto(f"{live_server.url}/imports/")
    page.screenshot(path="/tmp/dz-import-upload.png", full_page=True)
    with page.expect_download() as template:
        page.click("[data-testid=import-template]")
    assert open(template.value.path(), encoding="utf-8-sig").readline().startswith("外部编号,客户名称,")
    page.set_input_files("#id_file", str(upload))
    page.get_by_role("button", name="Upload and check").click()
    page.wait_for_selector("[data-testid=import-confirm]")
    errors = page.locator("[data-testid=import-errors]").inner_text()
    assert "Row 4" in errors and "Row 5" in errors and "ghost" in errors
    assert "The customer name is required." in errors  # the uploader's language, from the background task
    assert not Customer.objects.exists()
    located = "Addresses located: 0 precisely, 2 to a region's centre, 0 not located."
    assert page.locator("[data-testid=import-located]").inner_text().strip() == located
    page.screenshot(path="/tmp/dz-import-preview.png", full_page=True)

    # Leaving the preview loses nothing: the import page lists the upload until it is confirmed.
    preview_url = page.url
    page.get_by_role("link", name="Upload another file").click()
    row = page.locator("[data-testid=import-history-row]")
    assert row.count() == 1 and "Checked, waiting for confirmation" in row.inner_text()
    page.screenshot(path="/tmp/dz-import-waiting.png", full_page=True)
    row.get_by_role("link", name="客户.csv").click()
    page.wait_for_selector("[data-testid=import-confirm]")
    assert page.url == preview_url

    page.click("[data-testid=import-confirm]")
    page.wait_for_function("() => document.querySelector('#import-status').dataset.status === 'done'")
    assert page.locator("[data-testid=import-status]").inner_text() in ("Finished", "已完成")
    assert page.locator(".progress-bar").inner_text() == "100%"
    assert page.locator("[data-testid=import-rejected]").inner_text() == "2"
    assert sorted(Customer.objects.values_list("external_id", flat=True)) == ["B1", "B2"]
    assert page.locator("[data-testid=import-located]").inner_text().strip() == located
    page.screenshot(path="/tmp/dz-import-done.png", full_page=True)

    with page.expect_download() as info:
        page.click("[data-testid=import-report]")
    path = info.value.path()
    text = open(path, encoding="utf-8-sig").read()
    assert "B3" in text and "ghost" in text and "B1" not in text

    page.click("[data-testid=import-view-customers]")
    page.wait_for_selector("table.dz-table")
    names = page.locator("table.dz-table tbody tr td a").all_inner_texts()
    assert sorted(names[:2]) == sorted(["上海客户", "北京客户"])  # the two just imported come first
