"""Drop the single-column index Django made for AddressVersion.address: the unique
(address, version) index leads with the same column. One index less per history row."""

import django.db.models.deletion
from django.db import migrations, models

INDEX = "addresses_addressversion_address_id_ba10da65"


class Migration(migrations.Migration):
    dependencies = [
        ("addresses", "0006_map_cover_regions"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="addressversion",
                    name="address",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="versions",
                        to="addresses.address",
                        verbose_name="address",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    f"DROP INDEX IF EXISTS {INDEX}",
                    f"CREATE INDEX IF NOT EXISTS {INDEX} ON addresses_addressversion (address_id)",
                ),
            ],
        ),
    ]
