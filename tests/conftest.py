import importlib
import os

import pytest
from django.apps import apps as django_apps
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import transaction
from django.test.utils import override_settings
from pytest_django.plugin import blocking_manager_key

from addresses.models import AddressCategory
from crm import roles
from customers.models import Customer, Territory
from geo.models import Region


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hasher():
    """Test users get MD5 password hashes: each PBKDF2 hash costs ~0.4 s and the suite makes
    hundreds of users. For the test run only; production keeps Django's default hashers."""
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


@pytest.fixture(autouse=True)
def inline_tasks(request, settings):
    """Tasks run inline, inside the test's transaction; `thread_tasks` tests keep the app's
    default background thread (crm.tasks_thread)."""
    if "thread_tasks" not in request.keywords:
        settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}


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


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Load the region tree once for the whole test session."""
    with django_db_blocker.unblock():
        ensure_base_data()


def _flushes_database(item) -> bool:
    """A transactional test (live server, other processes): the database is flushed after it."""
    marker = item.get_closest_marker("django_db")
    if marker is not None and marker.kwargs.get("transaction"):
        return True
    return "transactional_db" in getattr(item, "fixturenames", ())


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    """After a transactional test, put back what its flush removed, for the tests that follow
    (browser tests load it themselves, through their `base_data` fixture)."""
    yield
    if nextitem is None or not _flushes_database(item):
        return
    if "tests/browser/" in str(nextitem.path).replace(os.sep, "/"):
        return
    blocker = item.config.stash.get(blocking_manager_key, None)
    if blocker is None:
        return
    with blocker.unblock():
        ensure_base_data()


@pytest.fixture
def make_user(django_user_model):
    def make(username, role=roles.SALES, **extra):
        user = django_user_model.objects.create_user(username=username, password="pw-" + username, **extra)
        if role:
            user.groups.add(Group.objects.get(name=role))
        return user

    return make


@pytest.fixture
def sales(make_user):
    return make_user("sales1")


@pytest.fixture
def other_sales(make_user):
    return make_user("sales2")


@pytest.fixture
def manager(make_user):
    return make_user("manager1", role=roles.MANAGER)


@pytest.fixture
def make_customer():
    def make(name="客户", owner=None, **extra):
        return Customer.objects.create(name=name, owner=owner, **extra)

    return make


@pytest.fixture
def make_territory():
    def make(user, code):
        return Territory.objects.create(user=user, region=Region.objects.get(code=code))

    return make


@pytest.fixture
def category():
    return AddressCategory.objects.create(name="仓库", colour="#ff0000")


def region(code: str) -> Region:
    return Region.objects.get(code=code)


@pytest.fixture(autouse=True)
def _empty_cache():
    """Each test starts with an empty cache: cached counts and pages never leak between tests."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _plain_http(settings):
    """Tests (and the live server of browser tests) speak plain HTTP on localhost."""
    settings.SECURE_SSL_REDIRECT = False
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
