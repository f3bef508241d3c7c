"""The base data of a test session (regions, role groups, permissions, content types), loaded once,
and the reset that follows a transactional test (live server, other processes).

Django's flush after such a test empties every table (TRUNCATE of 20 tables, ~0.7 s) and the
region tree (50,594 rows) then had to be loaded again. Instead, `reset_database` deletes the rows
the test wrote and restores a base table from its snapshot only if the test changed it: triggers
on the base tables note each change in a small table, so telling costs one query.

Snapshots, the change table and its function live in a schema of their own on PostgreSQL, out of
sight of the schema's introspection; on SQLite they are tables beside the others.
"""

import importlib

from django.apps import apps as django_apps
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import connection, transaction

from crm import roles
from geo.models import Region

SNAPSHOT = "test_snapshot"
_base_tables: list[str] = []  # the tables holding base data, as snapshot


def loaded() -> bool:
    return bool(_base_tables)


def ensure_base_data() -> None:
    """Regions and role groups: loaded and snapshot once for the session, put back after a test
    that removed or changed them."""
    if _base_tables:
        with transaction.atomic(), connection.cursor() as cursor:
            _restore_changed(cursor)
        return
    if not Region.objects.exists():
        call_command("load_regions", verbosity=0)
    if Group.objects.filter(name__in=roles.ROLES).count() != len(roles.ROLES):
        importlib.import_module("crm.migrations.0001_roles").create_roles(django_apps, None)
    with transaction.atomic(), connection.cursor() as cursor:
        _snapshot(cursor)


def reset_database() -> None:
    """Back to the session's start: the rows the test wrote deleted, changed base tables restored.

    Foreign keys are deferred (Django creates them so), so the order of the deletes is free.
    """
    base = set(_base_tables)
    tables = connection.introspection.django_table_names(only_existing=True, include_views=False)
    with transaction.atomic(), connection.cursor() as cursor:
        if _postgres():  # the history's append-only triggers let a maintenance session through
            cursor.execute("SET LOCAL dizhi.history_maintenance = 'on'")
        for table in tables:
            if table not in base and _has_rows(cursor, table):
                cursor.execute(f"DELETE FROM {_quote(table)}")
        _restore_changed(cursor)


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


def _postgres() -> bool:
    return connection.vendor == "postgresql"


def _name(name: str) -> str:
    """A snapshot-side object: `test_snapshot.<name>` on PostgreSQL, `test_snapshot_<name>` on SQLite."""
    return f"{_quote(SNAPSHOT)}.{_quote(name)}" if _postgres() else _quote(f"{SNAPSHOT}_{name}")


def _has_rows(cursor, table: str) -> bool:
    cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {_quote(table)})")
    return bool(cursor.fetchone()[0])


def _snapshot(cursor) -> None:
    """Copy every table holding rows now into a snapshot, and watch it for changes."""
    tables = connection.introspection.django_table_names(only_existing=True, include_views=False)
    changed = _name("changed")
    if _postgres():
        cursor.execute(f"CREATE SCHEMA IF NOT EXISTS {_quote(SNAPSHOT)}")
        cursor.execute(
            f"CREATE OR REPLACE FUNCTION {_name('note_change')}() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN INSERT INTO {changed} VALUES (TG_TABLE_NAME) ON CONFLICT DO NOTHING; RETURN NULL; END $$"
        )
    cursor.execute(f"DROP TABLE IF EXISTS {changed}")
    cursor.execute(f"CREATE TABLE {changed} (name varchar(100) PRIMARY KEY)")
    for table in tables:
        if not _has_rows(cursor, table):
            continue
        _base_tables.append(table)
        cursor.execute(f"DROP TABLE IF EXISTS {_name(table)}")
        cursor.execute(f"CREATE TABLE {_name(table)} AS SELECT * FROM {_quote(table)}")
        _watch(cursor, table)


def _watch(cursor, table: str) -> None:
    """A trigger noting in the change table any write to `table`."""
    trigger = _quote(f"{SNAPSHOT}_{table}")
    if _postgres():
        cursor.execute(f"DROP TRIGGER IF EXISTS {trigger} ON {_quote(table)}")
        cursor.execute(
            f"CREATE TRIGGER {trigger} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {_quote(table)} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {_name('note_change')}()"
        )
        return
    for event in ("INSERT", "UPDATE", "DELETE"):
        name = _quote(f"{SNAPSHOT}_{table}_{event.lower()}")
        cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
        cursor.execute(
            f"CREATE TRIGGER {name} AFTER {event} ON {_quote(table)} "
            f"BEGIN INSERT OR IGNORE INTO {_name('changed')} VALUES ('{table}'); END"
        )


def _restore_changed(cursor) -> None:
    cursor.execute(f"SELECT name FROM {_name('changed')}")
    changed = {name for (name,) in cursor.fetchall()}
    if not changed:
        return
    for table in _base_tables:
        if table in changed:
            cursor.execute(f"DELETE FROM {_quote(table)}")
            cursor.execute(f"INSERT INTO {_quote(table)} SELECT * FROM {_name(table)}")
    cursor.execute(f"DELETE FROM {_name('changed')}")
