"""Drop the single-column indexes Django made for Address.country / province / city / district.

Each is the leading column of a (region, customer) index already (addresses_address_<level>),
which serves the same lookups and foreign-key checks; the duplicates only slowed every write.
Only the indexes go: the foreign-key constraints stay as they are.
"""

import django.db.models.deletion
from django.db import migrations, models

INDEXES = {
    "city": "addresses_address_city_id_04b2cff3",
    "country": "addresses_address_country_id_e20f7093",
    "district": "addresses_address_district_id_be27a29d",
    "province": "addresses_address_province_id_05fdbeef",
}


def _field(name):
    return models.ForeignKey(
        blank=True,
        db_index=False,
        null=True,
        on_delete=django.db.models.deletion.PROTECT,
        related_name="+",
        to="geo.region",
        verbose_name=name,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("addresses", "0004_customer_copies_for_map"),
        ("geo", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(model_name="address", name=name, field=_field(name)) for name in INDEXES
            ],
            database_operations=[
                migrations.RunSQL(
                    f"DROP INDEX IF EXISTS {index}",
                    f"CREATE INDEX IF NOT EXISTS {index} ON addresses_address ({name}_id)",
                )
                for name, index in INDEXES.items()
            ],
        ),
    ]
