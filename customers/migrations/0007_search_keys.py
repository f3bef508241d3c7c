"""Search keys (crm.db.search_keys) on customers, in place of the doubled-text trigram index.

On PostgreSQL the keys of every name are computed and GIN-indexed; the doubled-text index
of migration 0004 goes. Elsewhere the column stays empty: the search there tests the text itself.
"""

from django.db import migrations

import crm.db.search_keys

DOUBLED = r"regexp_replace(upper(name), '(.)', '\1\1', 'g')"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    crm.db.search_keys.fill_search_keys(schema_editor.connection, "customers_customer", "name")
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS customers_customer_search_keys ON customers_customer USING gin (search_keys)"
    )
    schema_editor.execute("DROP INDEX IF EXISTS customers_customer_name_search")


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS customers_customer_name_search ON customers_customer "
        f"USING gin (({DOUBLED}) gin_trgm_ops)"
    )
    schema_editor.execute("DROP INDEX IF EXISTS customers_customer_search_keys")


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0006_import_write_cost"),
    ]

    operations = [
        migrations.AddField(
            model_name="customer",
            name="search_keys",
            field=crm.db.search_keys.SearchKeysField(source=("name",), verbose_name="search keys"),
        ),
        migrations.RunPython(forwards, backwards, elidable=False),
    ]
