"""Search indexes on doubled text (PostgreSQL only; see customers/search.py).

Every character doubled (科技 → 科科技技) gives two-character Chinese terms whole
trigrams, so the list's search is indexed for them too. They replace the plain
pg_trgm indexes on customer names and address text (one index for raw_text and
detail together instead of two). The expressions must match customers.search.Doubled.
"""

from django.db import migrations

DOUBLED = r"regexp_replace(upper({}), '(.)', '\1\1', 'g')"
NEW = (
    ("customers_customer_name_search", "customers_customer", DOUBLED.format("name")),
    ("addresses_address_text_search", "addresses_address", DOUBLED.format("raw_text || ' ' || detail")),
)
OLD = (
    ("customers_customer_name_trgm", "customers_customer USING gin (name gin_trgm_ops)"),
    ("addresses_address_raw_text_trgm", "addresses_address USING gin (raw_text gin_trgm_ops)"),
    ("addresses_address_detail_trgm", "addresses_address USING gin (detail gin_trgm_ops)"),
)


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, table, expression in NEW:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin (({expression}) gin_trgm_ops)"
        )
    for name, _target in OLD:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, target in OLD:
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {target}")
    for name, _table, _expression in NEW:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0003_address_customer_covering_index"),
    ]

    operations = [
        migrations.RunPython(forwards, backwards, elidable=False),
    ]
