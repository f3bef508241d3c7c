"""Playwright fixtures shared by the browser tests.

- `browser`: headless Debian Chromium (/usr/bin/chromium), one for the whole folder;
- `page`: a fresh page (zh-CN, 1280×900) that fails the test on any JavaScript
  console error or uncaught exception (`page.console_errors.allow(text)` for an
  expected one);
- `login(page, user)`: logs in through the login form of the live server;
- `base_data`: regions and role groups, as the session loaded them (tests/conftest.py
  puts them back after every transactional test, too).

Mark browser tests with `pytest.mark.browser`.
"""

import os

import pytest

from tests.base_data import ensure_base_data

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


@pytest.fixture(scope="package")
def browser():
    """One Chromium for all the browser tests (launching Playwright and Chromium costs ~1.3 s);
    each test gets a fresh browser context (`context`, `page`, `new_context`), so no cookie,
    storage or cache is shared. Package-scoped: Playwright's event loop runs in this thread
    only while the tests of this folder run."""
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
