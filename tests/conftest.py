import pytest
from django.contrib.auth.models import Group
from django.db import DEFAULT_DB_ALIAS
from django.test import TransactionTestCase
from django.test.utils import override_settings

from addresses.models import AddressCategory
from crm import roles
from customers.models import Customer, Territory
from geo.models import Region
from tests import base_data


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hasher():
    """Test users get MD5 password hashes: each PBKDF2 hash costs ~0.4 s and the suite makes
    hundreds of users. For the test run only; production keeps Django's default hashers."""
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


@pytest.fixture(autouse=True)
def inline_tasks(request, settings):
    """Tasks run inline, inside the test's transaction; `thread_tasks` tests run them in the
    app's background thread (crm.tasks_thread, the DEBUG default)."""
    if "thread_tasks" in request.keywords:
        settings.TASKS = {"default": {"BACKEND": "crm.tasks_thread.ThreadBackend"}}
    else:
        settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture(autouse=True)
def unhashed_static(settings):
    """Static files as they are in the checkout: production's hashed names need `collectstatic`
    first (tests/test_production.py runs that against a real server)."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Load the region tree once for the whole test session, and remember it."""
    with django_db_blocker.unblock():
        base_data.ensure_base_data()


@pytest.fixture(autouse=True, scope="session")
def _reset_instead_of_flush():
    """After a transactional test, `base_data.reset_database` instead of Django's flush (which
    would also remove the base data, to be loaded again)."""
    flush = TransactionTestCase._fixture_teardown

    def teardown(self):
        if self.serialized_rollback or self.available_apps is not None or not base_data.loaded():
            return flush(self)
        for alias in self._databases_names(include_mirrors=False):
            if alias != DEFAULT_DB_ALIAS:
                return flush(self)
        base_data.reset_database()

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(TransactionTestCase, "_fixture_teardown", teardown)
        yield


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
