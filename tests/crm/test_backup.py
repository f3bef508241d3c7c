"""Backup and restore as README "Run in production" says: `pg_dump -Fc` of a seeded database,
`pg_restore` into a new one, the same rows in every table, sequences that go on where they
stopped, and every address's history chain verifying clean (and a tampered row caught)."""

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.core.management import call_command
from psycopg import sql

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
VERIFY = (
    "from addresses.models import Address\n"
    "from addresses.services import address_history_verify\n"
    "addresses = list(Address.objects.all())\n"
    "broken = [a.pk for a in addresses if address_history_verify(address=a)]\n"
    "print(len(addresses), len(broken))\n"
)


def _url(name: str) -> str:
    db = settings.DATABASES["default"]
    return f"postgresql://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{name}"


def _counts(url: str) -> dict[str, int]:
    with psycopg.connect(url) as con:
        tables = [r[0] for r in con.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
        counts = {
            t: con.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(t))).fetchone()[0]
            for t in tables
        }
        for (seq,) in con.execute(
            "SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'"
        ).fetchall():
            counts[f"sequence {seq}"] = con.execute(f'SELECT last_value FROM "{seq}"').fetchone()[0]
    return counts


def _verify(url: str) -> tuple[int, int]:
    env = {**os.environ, "DATABASE_URL": url.replace("postgresql://", "postgres://", 1)}
    out = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "shell", "-c", VERIFY],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    return int(out[-2]), int(out[-1])


def test_a_dump_restored_into_a_new_database_has_the_same_rows_and_a_clean_history(tmp_path):
    if not settings.IS_POSTGRES:
        pytest.skip("pg_dump / pg_restore: PostgreSQL only (SQLite: copy the file with sqlite3 .backup)")
    call_command("seed_demo", customers=300, verbosity=0)
    source = settings.DATABASES["default"]["NAME"]
    restored = f"{source}_restored"
    dump = tmp_path / "dizhi.dump"
    subprocess.run(["pg_dump", "-Fc", "-d", _url(source), "-f", str(dump)], check=True)
    with psycopg.connect(_url("postgres"), autocommit=True) as con:
        con.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(restored)))
        con.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(restored)))
    try:
        subprocess.run(
            ["pg_restore", "--no-owner", "--exit-on-error", "-d", _url(restored), str(dump)], check=True
        )
        before, after = _counts(_url(source)), _counts(_url(restored))
        assert after == before
        assert before["customers_customer"] == 300 and before["addresses_addressversion"] >= 300
        assert _verify(_url(restored)) == (before["addresses_address"], 0)

        # The check can fail: one history row changed behind the write path's back is caught.
        with psycopg.connect(_url(restored), autocommit=True) as con:
            con.execute("SET session_replication_role = replica")  # past any append-only trigger
            con.execute(
                'UPDATE addresses_addressversion SET after = after || \'{"detail": "改"}\'::jsonb '
                "WHERE id = (SELECT min(id) FROM addresses_addressversion)"
            )
        assert _verify(_url(restored)) == (before["addresses_address"], 1)
    finally:
        with psycopg.connect(_url("postgres"), autocommit=True) as con:
            con.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(restored)))
