"""Indexes for the customer list's search on PostgreSQL (no-ops on SQLite).

- pg_trgm GIN indexes serve `icontains` on customer names and address text;
- varchar_pattern_ops serves the phone prefix search (LIKE '138%'), which a
  plain b-tree cannot under a non-C collation;
- UPPER(email) serves the case-insensitive e-mail match.
"""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

INDEXES = (
    ("customers_customer_name_trgm", "customers_customer USING gin (name gin_trgm_ops)"),
    ("customers_customer_phone_prefix", "customers_customer (phone varchar_pattern_ops)"),
    ("customers_customer_email_upper", "customers_customer (UPPER(email))"),
    ("addresses_address_raw_text_trgm", "addresses_address USING gin (raw_text gin_trgm_ops)"),
    ("addresses_address_detail_trgm", "addresses_address USING gin (detail gin_trgm_ops)"),
)


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, target in INDEXES:
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {target}")


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _target in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0001_initial"),
        ("addresses", "0003_map_cells"),
    ]

    operations = [
        TrigramExtension(),
        migrations.RunPython(create_indexes, drop_indexes, elidable=False),
    ]
