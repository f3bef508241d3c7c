"""Tests that tamper with history on purpose: on PostgreSQL the append-only triggers refuse, so
they run as a maintenance session (what an attacker with the database's owner role could do)."""

from django.db import connection


def allow_history_tampering() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL dizhi.history_maintenance = 'on'")
