"""Upload page, end to end: a file with good and bad rows, its preview, the import, the report."""

import importlib
import os

import pytest
from django.apps import apps as django_apps
from django.contrib.auth.models import Group
from django.core.management import call_command

from crm import roles
from customers.models import Customer
from geo.models import Region

pytestmark = pytest.mark.browser
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def plain_http():
    """Plain HTTP: the security middleware reads these settings once, when the server starts."""
    from django.conf import settings

    settings.SECURE_SSL_REDIRECT = False
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    settings.SECURE_HSTS_SECONDS = 0


@pytest.fixture(scope="session")
def live_server(plain_http, live_server):
    return live_server


@pytest.fixture
def import_page(live_server, transactional_db, settings, tmp_path):
    """A Chromium page that fails the test on any console error (local until tests/browser/conftest.py)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if not os.path.exists(CHROMIUM):
        pytest.skip("browser tests need /usr/bin/chromium")
    settings.MEDIA_ROOT = tmp_path / "media"
    if not Region.objects.exists():
        call_command("load_regions", verbosity=0)
    if Group.objects.filter(name__in=roles.ROLES).count() != len(roles.ROLES):
        importlib.import_module("crm.migrations.0001_roles").create_roles(django_apps, None)
    errors = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context(accept_downloads=True, locale="en-US")
        context.set_default_timeout(15_000)
        page = context.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        yield page
        browser.close()
    assert not errors, errors


def test_upload_watch_progress_and_download_the_report(import_page, live_server, make_user, tmp_path):
    page = import_page
    make_user("boss", role=roles.MANAGER)
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill('input[name="username"]', "boss")
    page.fill('input[name="password"]', "pw-boss")
    page.locator('form [type="submit"]').last.click()
    page.wait_for_load_state()

    upload = tmp_path / "客户.csv"
    upload.write_bytes(
        "外部编号,客户名称,手机,地址,负责人\n"
        "B1,北京客户,13800138000,北京市朝阳区建国路88号,\n"
        "B2,上海客户,,上海市浦东新区世纪大道100号,\n"
        "B3,,,广州市天河区,\n"
        "B4,坏负责人,,深圳市南山区,ghost\n".encode("utf-8-sig")
    )
    page.goto(f"{live_server.url}/addresses/import/")
    page.set_input_files("#id_file", str(upload))
    page.get_by_role("button", name="Upload and check").click()
    page.wait_for_selector("[data-testid=import-confirm]")
    errors = page.locator("[data-testid=import-errors]").inner_text()
    assert "Row 4" in errors and "Row 5" in errors and "ghost" in errors
    assert not Customer.objects.exists()

    page.click("[data-testid=import-confirm]")
    page.wait_for_function("document.querySelector('#import-status').dataset.status === 'done'")
    assert page.locator("[data-testid=import-status]").inner_text() in ("Finished", "已完成")
    assert page.locator(".progress-bar").inner_text() == "100%"
    assert page.locator("[data-testid=import-rejected]").inner_text() == "2"
    assert sorted(Customer.objects.values_list("external_id", flat=True)) == ["B1", "B2"]

    with page.expect_download() as info:
        page.click("[data-testid=import-report]")
    path = info.value.path()
    text = open(path, encoding="utf-8-sig").read()
    assert "B3" in text and "ghost" in text and "B1" not in text
