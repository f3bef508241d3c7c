"""Playwright fixtures shared by the browser tests.

- `browser`: headless Debian Chromium (/usr/bin/chromium), one per test;
- `page`: a fresh page (zh-CN, 1280×900) that fails the test on any JavaScript
  console error or uncaught exception (`page.console_errors.allow(text)` for an
  expected one);
- `login(page, user)`: logs in through the login form of the live server;
- `base_data`: regions and role groups, which the flush after every
  live-server (transactional) test removes.

Mark browser tests with `pytest.mark.browser`.
"""

import importlib
import os

import pytest
from django.apps import apps as django_apps
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import transaction
from pytest_django.plugin import blocking_manager_key

from crm import roles
from geo.models import Region

# Playwright's sync API runs an event loop in this thread; the ORM calls made by
# the tests themselves are still synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


_region_rows: list[dict] | None = None


def ensure_base_data():
    """Regions and role groups, loaded only when missing.

    The first load is remembered, so putting the tree back after a flush is one
    bulk insert instead of a second run of load_regions.
    """
    global _region_rows
    if not Region.objects.exists():
        if _region_rows is None:
            call_command("load_regions", verbosity=0)
        else:
            with transaction.atomic():
                Region.objects.bulk_create([Region(**row) for row in _region_rows], batch_size=2000)
    if _region_rows is None:
        _region_rows = list(Region.objects.order_by("path").values())
    if Group.objects.filter(name__in=roles.ROLES).count() != len(roles.ROLES):
        importlib.import_module("crm.migrations.0001_roles").create_roles(django_apps, None)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    """After the last browser test, put back what its flush removed, for the tests that follow."""
    yield
    if nextitem is None or "tests/browser/" in str(nextitem.path).replace(os.sep, "/"):
        return
    blocker = item.config.stash.get(blocking_manager_key, None)
    if blocker is None:
        return
    with blocker.unblock():
        ensure_base_data()


@pytest.fixture(scope="session")
def plain_http():
    """The live server speaks plain HTTP; its middleware reads these settings once, when it starts."""
    from django.conf import settings

    settings.SECURE_SSL_REDIRECT = False
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    settings.SECURE_HSTS_SECONDS = 0


@pytest.fixture(scope="session")
def live_server(plain_http, live_server):
    return live_server


@pytest.fixture
def base_data(transactional_db):
    ensure_base_data()


@pytest.fixture
def browser():
    # One Playwright per test: a session-wide one would keep its event loop
    # running and break test modules that start their own.
    sync_api = pytest.importorskip("playwright.sync_api")
    if not os.path.exists(CHROMIUM):
        pytest.skip("browser tests need /usr/bin/chromium (apt-get install chromium fonts-noto-cjk)")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class ConsoleErrors(list):
    """Console errors and uncaught exceptions of every page of a browser context."""

    def __init__(self):
        super().__init__()
        self.allowed: list[str] = []

    def allow(self, text: str):
        """Expect console errors containing `text` (e.g. Chromium's own log line for a 404 page)."""
        self.allowed.append(text)

    def _console(self, msg):
        if msg.type == "error" and not any(a in msg.text for a in self.allowed):
            self.append(f"console error: {msg.text} ({msg.location.get('url', '')})")

    def attach(self, page):
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.append(f"page error: {exc}"))


def new_context(browser, *, width=1280, height=900, locale="zh-CN"):
    context = browser.new_context(viewport={"width": width, "height": height}, locale=locale)
    context.set_default_timeout(10_000)
    errors = ConsoleErrors()
    context.on("page", errors.attach)
    context.console_errors = errors
    return context


@pytest.fixture
def context(browser, live_server, base_data):
    context = new_context(browser)
    yield context
    errors = list(context.console_errors)
    context.close()
    assert not errors, "JavaScript errors:\n" + "\n".join(errors)


@pytest.fixture
def page(context):
    page = context.new_page()
    page.console_errors = context.console_errors
    return page


@pytest.fixture
def login(live_server):
    def login(page, user, password=None):
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill('input[name="username"]', user.get_username())
        page.fill('input[name="password"]', password or "pw-" + user.get_username())
        page.locator('form button[type="submit"]').last.click()
        page.wait_for_load_state()
        assert "/accounts/login/" not in page.url, "login failed"

    return login
