"""The covering map index also carries the region columns, so a salesperson's territory
test (province / city / district) stays an index-only scan (PostgreSQL only)."""

from django.db import migrations

OLD = "(map_key) INCLUDE (id, lat, lng, customer_id, customer_stage, customer_kind, customer_owner_id)"
NEW = (
    "(map_key) INCLUDE (id, lat, lng, customer_id, customer_stage, customer_kind, customer_owner_id, "
    "province_id, city_id, district_id)"
)


def _recreate(columns):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute("DROP INDEX IF EXISTS addresses_address_map_cover")
            schema_editor.execute(f"CREATE INDEX addresses_address_map_cover ON addresses_address {columns}")

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("addresses", "0005_drop_redundant_region_fk_indexes"),
    ]

    operations = [
        migrations.RunPython(_recreate(NEW), _recreate(OLD), elidable=False),
    ]
