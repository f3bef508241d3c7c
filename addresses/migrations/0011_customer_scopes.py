"""Customer-level facts (every region and category of the customer's addresses) copied onto
each address, and carried by the covering map index (PostgreSQL), so the map's region,
category and territory filters read one index instead of probing each row's customer."""

from django.db import migrations, models

OLD = (
    "(map_key) INCLUDE (id, lat, lng, customer_id, customer_stage, customer_kind, customer_owner_id, "
    "province_id, city_id, district_id)"
)
NEW = (
    "(map_key) INCLUDE (id, lat, lng, customer_id, customer_stage, customer_kind, customer_owner_id, "
    "province_id, city_id, district_id, customer_scopes)"
)


def fill(apps, schema_editor):
    from addresses.clustering import customer_scopes_rebuild

    customer_scopes_rebuild(address_model=apps.get_model("addresses", "Address"))
    _cover(NEW)(apps, schema_editor)


def _cover(columns):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute("DROP INDEX IF EXISTS addresses_address_map_cover")
            schema_editor.execute(f"CREATE INDEX addresses_address_map_cover ON addresses_address {columns}")

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("addresses", "0010_map_cells_level_16"),
    ]

    operations = [
        migrations.AddField(
            model_name="address",
            name="customer_scopes",
            field=models.TextField(blank=True, default="", editable=False, verbose_name="customer scopes"),
        ),
        migrations.RunPython(fill, _cover(OLD), elidable=False),
    ]
