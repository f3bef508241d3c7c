"""Playwright fixtures for the customer page, address form and category browser tests.

Stand-in until tests/browser/conftest.py provides the shared ones: a headless
Debian Chromium, a page that fails the test on any JavaScript console error,
and a login helper. Import the fixtures into a test module with
`from tests.browser.conftest_4b import *`.
"""

import importlib
import os

import pytest
from django.apps import apps as django_apps
from django.contrib.auth.models import Group
from django.core.management import call_command

from crm import roles
from geo.models import Region
from geo.selectors import region_index

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


@pytest.fixture
def browser_4b():
    # One Playwright per test: a session-wide one would hold the event loop and
    # break other test modules that start their own.
    sync_api = pytest.importorskip("playwright.sync_api")
    if not os.path.exists(CHROMIUM):
        pytest.skip("browser tests need /usr/bin/chromium (apt-get install chromium fonts-noto-cjk)")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def plain_http_4b():
    """The live server speaks plain HTTP; its middleware reads these settings once, when it starts."""
    from django.conf import settings

    settings.SECURE_SSL_REDIRECT = False
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    settings.SECURE_HSTS_SECONDS = 0


@pytest.fixture(scope="session")
def live_server(plain_http_4b, live_server):
    return live_server


@pytest.fixture
def base_data(transactional_db):
    """Regions and role groups, which the flush between live-server tests removes."""
    if not Region.objects.exists():
        call_command("load_regions", verbosity=0)
    if not Group.objects.filter(name__in=roles.ROLES).count() == len(roles.ROLES):
        importlib.import_module("crm.migrations.0001_roles").create_roles(django_apps, None)
    # The live server runs in this process: build the parser's index now, not on the first keystroke.
    region_index()


class ConsoleErrors(list):
    """Console errors and uncaught exceptions of every page of a context."""

    def __init__(self):
        super().__init__()
        self.allowed: list[str] = []

    def allow(self, text: str):
        """Expect console errors containing `text` (e.g. the browser's own log of a 404 page load)."""
        self.allowed.append(text)

    def _console(self, msg):
        if msg.type == "error" and not any(a in msg.text for a in self.allowed):
            self.append(f"console error: {msg.text}")

    def attach(self, page):
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.append(f"page error: {exc}"))


@pytest.fixture
def browser_context_4b(browser_4b, live_server, base_data):
    context = browser_4b.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    context.set_default_timeout(10_000)
    errors = ConsoleErrors()
    context.on("page", errors.attach)
    context.console_errors = errors
    yield context
    context.close()
    assert not errors, "JavaScript errors:\n" + "\n".join(errors)


@pytest.fixture
def page_4b(browser_context_4b):
    page = browser_context_4b.new_page()
    return page


@pytest.fixture
def login_4b(live_server):
    def login(page, user):
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill('input[name="username"]', user.username)
        page.fill('input[name="password"]', "pw-" + user.username)
        page.locator('form button[type="submit"], form input[type="submit"]').last.click()
        page.wait_for_load_state()
        assert "/accounts/login/" not in page.url, "login failed"

    return login
