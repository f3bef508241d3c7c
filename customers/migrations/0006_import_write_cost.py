"""Less to write per customer, for bulk imports (issue 6):

- external_id is unique through a constraint instead of unique=True, which also made a
  LIKE-only index no query used;
- the plain phone index goes: phone search is a prefix match, served (with equality) by
  customers_customer_phone_prefix (migration 0002);
- the (owner, name) index holds only customers that have an owner.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0005_owner_index_led_by_owner_name"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="customer", name="customers_customer_owner_name"),
        migrations.RemoveIndex(model_name="customer", name="customers_customer_phone"),
        migrations.AddIndex(
            model_name="customer",
            index=models.Index(
                condition=models.Q(("owner__isnull", False)),
                fields=["owner", "name"],
                name="customers_customer_owner_name",
            ),
        ),
        migrations.AddConstraint(
            model_name="customer",
            constraint=models.UniqueConstraint(
                fields=("external_id",), name="customers_customer_unique_external_id"
            ),
        ),
        migrations.AlterField(
            model_name="customer",
            name="external_id",
            field=models.CharField(blank=True, max_length=100, null=True, verbose_name="external id"),
        ),
    ]
