"""A copy of the customer's name on each address, and (province | city, name, customer)
indexes: the list's pages of one region come off one index in name order."""

from django.conf import settings
from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def copy_names(apps, schema_editor):
    Address = apps.get_model("addresses", "Address")
    Customer = apps.get_model("customers", "Customer")
    if schema_editor.connection.vendor == "postgresql":
        # One statement, before the indexes on the new column exist.
        schema_editor.execute(
            "UPDATE addresses_address a SET customer_name = c.name FROM customers_customer c "
            "WHERE c.id = a.customer_id AND a.customer_name IS DISTINCT FROM c.name"
        )
        return
    name = Customer.objects.filter(pk=OuterRef("customer_id")).values("name")[:1]
    Address.objects.update(customer_name=Subquery(name))


class Migration(migrations.Migration):
    dependencies = [
        ("addresses", "0008_map_cell_scopes"),
        ("customers", "0004_search_doubled_text"),
    ]

    operations = [
        migrations.AddField(
            model_name="address",
            name="customer_name",
            field=models.CharField(
                blank=True,
                db_collation=settings.PINYIN_COLLATION,
                default="",
                editable=False,
                max_length=200,
                verbose_name="customer name",
            ),
        ),
        migrations.RunPython(copy_names, migrations.RunPython.noop, elidable=False),
        migrations.AddIndex(
            model_name="address",
            index=models.Index(fields=["province", "customer_name", "customer"], name="addresses_address_prov_name"),
        ),
        migrations.AddIndex(
            model_name="address",
            index=models.Index(fields=["city", "customer_name", "customer"], name="addresses_address_city_name"),
        ),
    ]
