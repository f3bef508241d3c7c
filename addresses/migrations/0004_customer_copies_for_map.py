"""Copies of the customer's stage, kind and owner on each address, and covering indexes
(PostgreSQL only) that let the map aggregate a filtered viewport with index-only scans."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

INDEXES = {
    # Every located address with what the map groups and filters on.
    "addresses_address_map_cover": "(map_key) INCLUDE (id, lat, lng, customer_id, customer_stage, "
    "customer_kind, customer_owner_id)",
    # A salesperson's own customers, and the owner filter.
    "addresses_address_map_owner": "(customer_owner_id, map_key) INCLUDE (id, lat, lng)",
}


def copy_customer_fields(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "UPDATE addresses_address a SET customer_stage = c.stage, customer_kind = c.kind, "
            "customer_owner_id = c.owner_id FROM customers_customer c WHERE c.id = a.customer_id"
        )
        for name, columns in INDEXES.items():
            schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON addresses_address {columns}")
    else:
        schema_editor.execute(
            "UPDATE addresses_address SET "
            "customer_stage = (SELECT stage FROM customers_customer c WHERE c.id = addresses_address.customer_id), "
            "customer_kind = (SELECT kind FROM customers_customer c WHERE c.id = addresses_address.customer_id), "
            "customer_owner_id = (SELECT owner_id FROM customers_customer c WHERE c.id = addresses_address.customer_id)"
        )


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name in INDEXES:
            schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("addresses", "0003_map_cells"),
        ("customers", "0003_address_customer_covering_index"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="address",
            name="customer_stage",
            field=models.CharField(
                blank=True, default="", editable=False, max_length=12, verbose_name="customer stage"
            ),
        ),
        migrations.AddField(
            model_name="address",
            name="customer_kind",
            field=models.CharField(
                blank=True, default="", editable=False, max_length=12, verbose_name="customer kind"
            ),
        ),
        migrations.AddField(
            model_name="address",
            name="customer_owner",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
                verbose_name="customer owner",
            ),
        ),
        migrations.RunPython(copy_customer_fields, drop_indexes, elidable=False),
    ]
