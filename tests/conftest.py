import importlib

import pytest
from django.apps import apps as django_apps
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import DEFAULT_DB_ALIAS, connection, transaction
from django.test import TransactionTestCase
from django.test.utils import override_settings

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


SNAPSHOT = "test_snapshot"
_base_tables: list[str] = []  # the tables holding base data, in the order of their snapshots


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


def _snapshot(table: str) -> str:
    """Where the session's copy of `table` lives: a schema of its own on PostgreSQL, out of
    sight of the schema's introspection; a table beside it on SQLite."""
    if connection.vendor == "postgresql":
        return f"{_quote(SNAPSHOT)}.{_quote(table)}"
    return _quote(f"{SNAPSHOT}_{table}")


def _snapshot_base_data() -> None:
    """Copy every table that holds rows once the base data is loaded (regions, role groups,
    permissions, content types) into a plain table, which no flush touches."""
    tables = connection.introspection.django_table_names(only_existing=True, include_views=False)
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"CREATE SCHEMA IF NOT EXISTS {_quote(SNAPSHOT)}")
        for table in tables:
            if _has_rows(cursor, table):
                _base_tables.append(table)
                cursor.execute(f"DROP TABLE IF EXISTS {_snapshot(table)}")
                cursor.execute(f"CREATE TABLE {_snapshot(table)} AS SELECT * FROM {_quote(table)}")


def reset_database() -> None:
    """Put the database back as the session started: the rows the test wrote deleted, the base
    data restored from its snapshot where the test changed it.

    Replaces Django's flush after a transactional test (live server, other processes): TRUNCATE
    of every table and reloading 9,216 regions cost ~2 s a test; deleting the few rows a test
    wrote and comparing the base tables with their snapshots costs a few milliseconds.
    Foreign keys are deferred (Django creates them so), so the order of the deletes is free.
    """
    base = set(_base_tables)
    tables = connection.introspection.django_table_names(only_existing=True, include_views=False)
    with transaction.atomic(), connection.cursor() as cursor:
        for table in tables:
            if table not in base and _has_rows(cursor, table):
                cursor.execute(f"DELETE FROM {_quote(table)}")
        _restore_base_tables(cursor)


def _restore_base_tables(cursor) -> None:
    for table in _base_tables:
        if _differs_from_snapshot(cursor, table):
            cursor.execute(f"DELETE FROM {_quote(table)}")
            cursor.execute(f"INSERT INTO {_quote(table)} SELECT * FROM {_snapshot(table)}")


def _has_rows(cursor, table: str) -> bool:
    cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {_quote(table)})")
    return bool(cursor.fetchone()[0])


def _differs_from_snapshot(cursor, table: str) -> bool:
    live, snapshot = _quote(table), _snapshot(table)
    cursor.execute(
        f"SELECT (SELECT COUNT(*) FROM {live}) <> (SELECT COUNT(*) FROM {snapshot})"
        f" OR EXISTS (SELECT * FROM {live} EXCEPT SELECT * FROM {snapshot})"
    )
    return bool(cursor.fetchone()[0])


def ensure_base_data():
    """Regions and role groups: loaded once for the session, put back after a test that
    removed or changed them."""
    if _base_tables:
        with transaction.atomic(), connection.cursor() as cursor:
            _restore_base_tables(cursor)
        return
    if not Region.objects.exists():
        call_command("load_regions", verbosity=0)
    if Group.objects.filter(name__in=roles.ROLES).count() != len(roles.ROLES):
        importlib.import_module("crm.migrations.0001_roles").create_roles(django_apps, None)
    _snapshot_base_data()


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Load the region tree once for the whole test session, and remember it."""
    with django_db_blocker.unblock():
        ensure_base_data()


@pytest.fixture(autouse=True, scope="session")
def _reset_instead_of_flush():
    """After a transactional test, `reset_database` instead of Django's flush (which would also
    remove the base data, to be loaded again)."""
    flush = TransactionTestCase._fixture_teardown

    def teardown(self):
        if self.serialized_rollback or self.available_apps is not None or not _base_tables:
            return flush(self)
        for alias in self._databases_names(include_mirrors=False):
            if alias != DEFAULT_DB_ALIAS:
                return flush(self)
        reset_database()

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
