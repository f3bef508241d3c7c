"""Customers, squashed: the final state of migrations 0001-0007 in one step (the schema they built
is checked by tests/test_migrations.py). PostgreSQL also gets the pinyin collation, pg_trgm and the
search indexes the ORM cannot declare (phone prefix, e-mail, search keys).
"""

import django.db.models.deletion
from django.conf import settings
from django.contrib.postgres.operations import CreateCollation, TrigramExtension
from django.db import migrations, models

import crm.db.search_keys

# Indexes PostgreSQL gets beyond the models' own (the ORM has no operator classes or GIN over arrays here).
POSTGRES_INDEXES = (
    # Phone search is a prefix match (LIKE '138%'): a plain b-tree cannot serve it under a non-C collation.
    "CREATE INDEX customers_customer_phone_prefix ON customers_customer (phone varchar_pattern_ops)",
    "CREATE INDEX customers_customer_email_upper ON customers_customer (upper((email)::text))",
    # The list's name search (crm.db.search_keys).
    "CREATE INDEX customers_customer_search_keys ON customers_customer USING gin (search_keys)",
)


def create_postgres_indexes(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in POSTGRES_INDEXES:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    replaces = [
        ("customers", "0001_initial"),
        ("customers", "0002_list_indexes"),
        ("customers", "0003_address_customer_covering_index"),
        ("customers", "0004_search_doubled_text"),
        ("customers", "0005_owner_index_led_by_owner_name"),
        ("customers", "0006_import_write_cost"),
        ("customers", "0007_search_keys"),
    ]

    initial = True

    dependencies = [
        ("geo", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # Pinyin ordering of customer names on PostgreSQL (no-op on other databases).
        CreateCollation("zh_pinyin", provider="icu", locale="zh-u-co-pinyin"),
        TrigramExtension(),
        migrations.CreateModel(
            name="Customer",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "name",
                    models.CharField(
                        db_collation=settings.PINYIN_COLLATION, max_length=200, verbose_name="name"
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[("individual", "Individual"), ("enterprise", "Enterprise")],
                        default="enterprise",
                        max_length=12,
                        verbose_name="kind",
                    ),
                ),
                (
                    "stage",
                    models.CharField(
                        choices=[
                            ("potential", "Potential"),
                            ("new", "New"),
                            ("existing", "Existing"),
                            ("churned", "Churned"),
                        ],
                        default="potential",
                        max_length=12,
                        verbose_name="relationship stage",
                    ),
                ),
                ("phone", models.CharField(blank=True, max_length=40, verbose_name="phone")),
                ("email", models.EmailField(blank=True, max_length=254, verbose_name="email")),
                (
                    "external_id",
                    models.CharField(blank=True, max_length=100, null=True, verbose_name="external id"),
                ),
                (
                    "search_keys",
                    crm.db.search_keys.SearchKeysField(source=("name",), verbose_name="search keys"),
                ),
                (
                    "created_at",
                    models.DateTimeField(auto_now_add=True, db_index=True, verbose_name="created"),
                ),
                ("updated_at", models.DateTimeField(auto_now=True, db_index=True, verbose_name="updated")),
                (
                    "owner",
                    models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="customers",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="owner",
                    ),
                ),
            ],
            options={
                "verbose_name": "customer",
                "verbose_name_plural": "customers",
                "ordering": ["name", "id"],
                "indexes": [
                    models.Index(fields=["name", "id"], name="customers_customer_name_id"),
                    models.Index(
                        condition=models.Q(("owner__isnull", False)),
                        fields=["owner", "name"],
                        name="customers_customer_owner_name",
                    ),
                    models.Index(fields=["stage", "name"], name="customers_customer_stage_name"),
                    models.Index(fields=["kind", "name"], name="customers_customer_kind_name"),
                ],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("external_id",), name="customers_customer_unique_external_id"
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("external_id", ""), _negated=True),
                        name="customers_customer_external_id_not_blank",
                    ),
                ],
            },
        ),
        migrations.CreateModel(
            name="Territory",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "region",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="territories",
                        to="geo.region",
                        verbose_name="region",
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="territories",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="user",
                    ),
                ),
            ],
            options={
                "verbose_name": "territory",
                "verbose_name_plural": "territories",
                "ordering": ["user", "region"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("user", "region"), name="customers_territory_unique_user_region"
                    )
                ],
            },
        ),
        migrations.RunPython(create_postgres_indexes, migrations.RunPython.noop, elidable=False),
    ]
