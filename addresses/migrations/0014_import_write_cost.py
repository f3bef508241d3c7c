"""Less to write per address, for bulk imports (issue 6), with what the pages read kept:

- the four region level copies (country, province, city, district) lose their database
  foreign keys: they are the ancestors of `region`, which keeps its own, and each check
  cost an index probe and a row lock per address written;
- `region_id` loses its index (regions are never deleted, and no page filters on it);
- the (lat, lng) index goes: the map reads points through map_key ranges (the covering
  index); the precision index keeps only the coarse precisions (none, country, province,
  city), the addresses a data-quality list looks for, which a geocoded import rarely writes;
- the map's owner index (PostgreSQL) and the history's actor index hold only rows that
  have an owner / an actor: the queries using them always name one.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

MAP_OWNER = "(customer_owner_id, map_key) INCLUDE (id, lat, lng)"


def _map_owner(where):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute("DROP INDEX IF EXISTS addresses_address_map_owner")
            schema_editor.execute(
                f"CREATE INDEX addresses_address_map_owner ON addresses_address {MAP_OWNER}{where}"
            )

    return run


def _level(name):
    return models.ForeignKey(
        blank=True,
        db_constraint=False,
        db_index=False,
        null=True,
        on_delete=django.db.models.deletion.PROTECT,
        related_name="+",
        to="geo.region",
        verbose_name=name,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("addresses", "0013_customer_index_led_by_customer_id"),
        ("geo", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveIndex(model_name="address", name="addresses_address_precision"),
        migrations.AddIndex(
            model_name="address",
            index=models.Index(
                condition=models.Q(("precision__in", ["none", "country", "province", "city"])),
                fields=["precision"],
                name="addresses_address_coarse",
            ),
        ),
        migrations.RemoveIndex(model_name="address", name="addresses_address_latlng"),
        *(
            migrations.AlterField(model_name="address", name=name, field=_level(name))
            for name in ("country", "province", "city", "district")
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="address",
                    name="region",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="geo.region",
                        verbose_name="region",
                    ),
                ),
                migrations.AlterField(
                    model_name="addressversion",
                    name="actor",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="actor",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    "DROP INDEX IF EXISTS addresses_address_region_id_4f528a7a",
                    "CREATE INDEX IF NOT EXISTS addresses_address_region_id_4f528a7a ON addresses_address (region_id)",
                ),
                migrations.RunSQL(
                    "DROP INDEX IF EXISTS addresses_addressversion_actor_id_8b0c52bb",
                    "CREATE INDEX IF NOT EXISTS addresses_addressversion_actor_id_8b0c52bb "
                    "ON addresses_addressversion (actor_id)",
                ),
            ],
        ),
        migrations.AddIndex(
            model_name="addressversion",
            index=models.Index(
                condition=models.Q(("actor__isnull", False)),
                fields=["actor"],
                name="addresses_addressversion_actor",
            ),
        ),
        migrations.RunPython(
            _map_owner(" WHERE customer_owner_id IS NOT NULL"), _map_owner(""), elidable=False
        ),
    ]
