"""A (customer_id, id) index on addresses, PostgreSQL only: the per-customer EXISTS
probes of the list's filters (category, precision) become index-only scans."""

from django.db import migrations

INDEX = "addresses_address_customer_covering"


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {INDEX} ON addresses_address (customer_id, id)")


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0002_list_indexes"),
    ]

    operations = [
        migrations.RunPython(create_index, drop_index, elidable=False),
    ]
