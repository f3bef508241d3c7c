"""One (customer, id) index on addresses for every database, in place of the customer foreign
key's own index and the PostgreSQL-only covering copy (customers/0003): one index fewer to
write per address."""

import django.db.models.deletion
from django.db import migrations, models


def drop_old_covering(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS addresses_address_customer_covering")


def restore_old_covering(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "CREATE INDEX IF NOT EXISTS addresses_address_customer_covering ON addresses_address (customer_id, id)"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("addresses", "0012_mapcell_fillfactor"),
        ("customers", "0005_owner_index_led_by_owner_name"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="address",
            index=models.Index(fields=["customer", "id"], name="addresses_address_cust_id"),
        ),
        migrations.AlterField(
            model_name="address",
            name="customer",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="addresses",
                to="customers.customer",
                verbose_name="customer",
            ),
        ),
        migrations.RunPython(drop_old_covering, restore_old_covering, elidable=False),
    ]
