"""The squashed migrations build exactly the schema the migrations they replace built.

tests/data/schema_before_squash.json is that schema, read from a PostgreSQL database migrated
by the 28 migrations of customers (0001-0007) and addresses (0001-0021) before they were
squashed (commit 3d16e3b). This test migrates an empty database to the squashed migrations
only and compares table by table: columns, indexes, constraints, storage options, collations
and extensions.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
SNAPSHOT = ROOT / "tests" / "data" / "schema_before_squash.json"
TABLES = ("customers_", "addresses_", "geo_")
SQUASHED = (("customers", "0001_squashed_0007"), ("addresses", "0001_squashed_0021"))


def schema_of(cursor, prefixes=TABLES) -> dict:
    """Tables (columns, indexes, constraints, options) whose names start with `prefixes`,
    plus the database's extensions and non-default collations, as plain JSON."""
    like = " OR ".join("c.relname LIKE %s" for _ in prefixes)
    params = [p.replace("_", r"\_") + "%" for p in prefixes]
    cursor.execute(
        f"SELECT c.oid, c.relname, coalesce(c.reloptions, '{{}}') FROM pg_class c "  # noqa: S608
        f"JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'r' AND ({like})",
        params,
    )
    tables = {}
    for oid, name, options in cursor.fetchall():
        cursor.execute(
            "SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, "
            "coalesce(pg_get_expr(d.adbin, d.adrelid), ''), coalesce(co.collname, '') "
            "FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
            "LEFT JOIN pg_collation co ON co.oid = a.attcollation AND co.collname <> 'default' "
            "WHERE a.attrelid = %s AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attname",
            [oid],
        )
        columns = {row[0]: list(row[1:]) for row in cursor.fetchall()}
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s", [name])
        indexes = dict(cursor.fetchall())
        cursor.execute(
            "SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s", [oid]
        )
        # Django names foreign-key constraints with a hash of the columns: compare them by definition.
        constraints = sorted(
            ["fk", definition] if kind == "f" else [conname, definition]
            for conname, kind, definition in cursor.fetchall()
        )
        tables[name] = {
            "columns": columns,
            "indexes": indexes,
            "constraints": constraints,
            "options": sorted(options),
        }
    cursor.execute("SELECT extname FROM pg_extension ORDER BY 1")
    extensions = [r[0] for r in cursor.fetchall()]
    cursor.execute(
        "SELECT collname, collprovider, coalesce(colliculocale, '') FROM pg_collation "
        "WHERE collnamespace = 'public'::regnamespace ORDER BY 1"
    )
    collations = [list(r) for r in cursor.fetchall()]
    return {"tables": tables, "extensions": extensions, "collations": collations}


@pytest.mark.slow
@pytest.mark.skipif(not settings.IS_POSTGRES, reason="the snapshot is of a PostgreSQL schema")
@pytest.mark.django_db
def test_squashed_migrations_build_the_schema_the_replaced_ones_built():
    import psycopg

    params = connection.get_connection_params()
    base = {k: params[k] for k in ("host", "port", "user") if params.get(k)}
    name = f"{connection.settings_dict['NAME']}_squash"
    admin = psycopg.connect(dbname="postgres", autocommit=True, **base)
    admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        url = f"postgres://{base.get('user', 'postgres')}@{base.get('host', '127.0.0.1')}:{base.get('port', 5432)}/{name}"
        env = {**os.environ, "DATABASE_URL": url}
        for app, migration in SQUASHED:
            subprocess.run(
                [sys.executable, "manage.py", "migrate", app, migration, "--no-input", "-v", "0"],
                cwd=ROOT,
                env=env,
                check=True,
            )
        with psycopg.connect(dbname=name, **base) as conn, conn.cursor() as cursor:
            built = schema_of(cursor)
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
    expected = json.loads(SNAPSHOT.read_text())
    assert sorted(built["tables"]) == sorted(expected["tables"])
    for table, shape in expected["tables"].items():
        assert built["tables"][table] == shape, table
    assert built["extensions"] == expected["extensions"]
    assert built["collations"] == expected["collations"]
