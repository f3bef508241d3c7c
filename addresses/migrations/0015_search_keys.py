"""Search keys (crm.db.search_keys) on addresses, in place of the doubled-text trigram index.

On PostgreSQL the keys of every address's raw_text and detail are computed and GIN-indexed;
the doubled-text index of customers/migrations/0004 goes. It cost a regular expression, a trigram extraction and
about fifty index entries per address written; the keys are about twenty-five entries,
computed once by the write path.
"""

from django.db import migrations

import crm.db.search_keys

DOUBLED = r"regexp_replace(upper(raw_text || ' ' || detail), '(.)', '\1\1', 'g')"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    crm.db.search_keys.fill_search_keys(schema_editor.connection, "addresses_address", "raw_text", "detail")
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS addresses_address_search_keys ON addresses_address USING gin (search_keys)"
    )
    schema_editor.execute("DROP INDEX IF EXISTS addresses_address_text_search")


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS addresses_address_text_search ON addresses_address "
        f"USING gin (({DOUBLED}) gin_trgm_ops)"
    )
    schema_editor.execute("DROP INDEX IF EXISTS addresses_address_search_keys")


class Migration(migrations.Migration):
    dependencies = [
        ("addresses", "0014_import_write_cost"),
        ("customers", "0007_search_keys"),
    ]

    operations = [
        migrations.AddField(
            model_name="address",
            name="search_keys",
            field=crm.db.search_keys.SearchKeysField(source=("raw_text", "detail"), verbose_name="search keys"),
        ),
        migrations.RunPython(forwards, backwards, elidable=False),
    ]
