"""Addresses, squashed: the final state of migrations 0001-0021 in one step (the schema they built
is checked by tests/test_migrations.py), the map's cells and the import's jobs included (0022 hands
them to the maps and imports apps). PostgreSQL also gets the covering and search indexes the ORM
cannot declare, and the map cells' fillfactor.
"""

import django.core.validators
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

import crm.db.search_keys

POSTGRES_STATEMENTS = (
    # The map reads its points off these covering indexes, never the table (maps/selectors.py).
    "CREATE INDEX addresses_address_map_cover ON addresses_address (map_key) INCLUDE (id, lat, lng, "
    "customer_id, customer_stage, customer_kind, customer_owner_id, province_id, city_id, district_id, "
    "customer_scopes)",
    "CREATE INDEX addresses_address_map_owner ON addresses_address (customer_owner_id, map_key) "
    "INCLUDE (id, lat, lng) WHERE (customer_owner_id IS NOT NULL)",
    # The list's address search (crm.db.search_keys).
    "CREATE INDEX addresses_address_search_keys ON addresses_address USING gin (search_keys)",
    # A bulk import adds to nearly every cell: half of each page free lets the upsert update in place (HOT).
    "ALTER TABLE addresses_mapcell SET (fillfactor = 50)",
)


def create_postgres_indexes(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in POSTGRES_STATEMENTS:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    replaces = [
        ("addresses", "0001_initial"),
        ("addresses", "0002_import_jobs"),
        ("addresses", "0003_map_cells"),
        ("addresses", "0004_customer_copies_for_map"),
        ("addresses", "0005_drop_redundant_region_fk_indexes"),
        ("addresses", "0006_map_cover_regions"),
        ("addresses", "0007_drop_redundant_version_address_index"),
        ("addresses", "0008_map_cell_scopes"),
        ("addresses", "0009_customer_name_copy"),
        ("addresses", "0010_map_cells_level_16"),
        ("addresses", "0011_customer_scopes"),
        ("addresses", "0012_mapcell_fillfactor"),
        ("addresses", "0013_customer_index_led_by_customer_id"),
        ("addresses", "0014_import_write_cost"),
        ("addresses", "0015_search_keys"),
        ("addresses", "0016_import_interrupted"),
        ("addresses", "0017_import_workers"),
        ("addresses", "0018_import_first_errors"),
        ("addresses", "0019_importcheckpoint_located"),
        ("addresses", "0020_importjob_uploaded"),
        ("addresses", "0021_map_cell_fillfactor"),
    ]

    initial = True

    dependencies = [
        ("customers", "0001_squashed_0007"),
        ("geo", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="AddressCategory",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("name", models.CharField(max_length=80, unique=True, verbose_name="name")),
                ("description", models.TextField(blank=True, verbose_name="description")),
                (
                    "colour",
                    models.CharField(
                        default="#3b82f6",
                        max_length=7,
                        validators=[
                            django.core.validators.RegexValidator(
                                "^#[0-9a-fA-F]{6}$", "Enter a colour like #3b82f6."
                            )
                        ],
                        verbose_name="colour",
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="created")),
            ],
            options={
                "verbose_name": "address category",
                "verbose_name_plural": "address categories",
                "ordering": ["name"],
            },
        ),
        migrations.CreateModel(
            name="AddressVersion",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("customer_id", models.BigIntegerField(db_index=True, verbose_name="customer id")),
                ("version", models.PositiveIntegerField(verbose_name="version")),
                (
                    "channel",
                    models.CharField(
                        choices=[
                            ("form", "Form"),
                            ("admin", "Admin"),
                            ("import", "Import"),
                            ("api", "API"),
                            ("self_service", "Self-service"),
                            ("system", "System"),
                        ],
                        max_length=12,
                        verbose_name="channel",
                    ),
                ),
                ("created_at", models.DateTimeField(verbose_name="time")),
                ("before", models.JSONField(blank=True, null=True, verbose_name="before")),
                ("after", models.JSONField(verbose_name="after")),
                ("changed_fields", models.JSONField(default=list, verbose_name="changed fields")),
                ("prev_hash", models.CharField(blank=True, max_length=64, verbose_name="previous hash")),
                ("hash", models.CharField(max_length=64, verbose_name="hash")),
            ],
            options={
                "verbose_name": "address version",
                "verbose_name_plural": "address versions",
                "ordering": ["address", "version"],
            },
        ),
        migrations.CreateModel(
            name="Address",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("registered", "Registered"),
                            ("billing", "Billing"),
                            ("delivery", "Delivery"),
                            ("home", "Home"),
                            ("other", "Other"),
                        ],
                        default="delivery",
                        max_length=12,
                        verbose_name="kind",
                    ),
                ),
                ("is_primary", models.BooleanField(default=False, verbose_name="primary")),
                ("raw_text", models.TextField(blank=True, verbose_name="address as entered")),
                ("detail", models.CharField(blank=True, max_length=300, verbose_name="detail line")),
                ("postcode", models.CharField(blank=True, max_length=20, verbose_name="postcode")),
                (
                    "lat",
                    models.DecimalField(
                        blank=True,
                        decimal_places=6,
                        max_digits=9,
                        null=True,
                        validators=[
                            django.core.validators.MinValueValidator(-90),
                            django.core.validators.MaxValueValidator(90),
                        ],
                        verbose_name="latitude",
                    ),
                ),
                (
                    "lng",
                    models.DecimalField(
                        blank=True,
                        decimal_places=6,
                        max_digits=9,
                        null=True,
                        validators=[
                            django.core.validators.MinValueValidator(-180),
                            django.core.validators.MaxValueValidator(180),
                        ],
                        verbose_name="longitude",
                    ),
                ),
                (
                    "precision",
                    models.CharField(
                        choices=[
                            ("rooftop", "Rooftop"),
                            ("street", "Street"),
                            ("district", "District"),
                            ("city", "City"),
                            ("province", "Province"),
                            ("country", "Country"),
                            ("none", "Not located"),
                        ],
                        default="none",
                        max_length=10,
                        verbose_name="geocode precision",
                    ),
                ),
                (
                    "geocode_source",
                    models.CharField(blank=True, max_length=80, verbose_name="geocode source"),
                ),
                ("verified_at", models.DateTimeField(blank=True, null=True, verbose_name="verified")),
                ("version", models.PositiveIntegerField(default=1, verbose_name="version")),
                ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="created")),
                ("updated_at", models.DateTimeField(auto_now=True, verbose_name="updated")),
                (
                    "search_keys",
                    crm.db.search_keys.SearchKeysField(
                        source=("raw_text", "detail"), verbose_name="search keys"
                    ),
                ),
                (
                    "map_key",
                    models.BigIntegerField(
                        blank=True, editable=False, null=True, verbose_name="map cell key"
                    ),
                ),
                (
                    "customer_name",
                    models.CharField(
                        blank=True,
                        db_collation=settings.PINYIN_COLLATION,
                        default="",
                        editable=False,
                        max_length=200,
                        verbose_name="customer name",
                    ),
                ),
                (
                    "customer_stage",
                    models.CharField(
                        blank=True, default="", editable=False, max_length=12, verbose_name="customer stage"
                    ),
                ),
                (
                    "customer_kind",
                    models.CharField(
                        blank=True, default="", editable=False, max_length=12, verbose_name="customer kind"
                    ),
                ),
                (
                    "customer_scopes",
                    models.TextField(blank=True, default="", editable=False, verbose_name="customer scopes"),
                ),
                (
                    "city",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="geo.region",
                        verbose_name="city",
                    ),
                ),
                (
                    "country",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="geo.region",
                        verbose_name="country",
                    ),
                ),
            ],
            options={
                "verbose_name": "address",
                "verbose_name_plural": "addresses",
                "ordering": ["customer", "-is_primary", "kind", "id"],
            },
        ),
        migrations.AddField(
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
        migrations.AddField(
            model_name="address",
            name="district",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="geo.region",
                verbose_name="district",
            ),
        ),
        migrations.AddField(
            model_name="address",
            name="province",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="geo.region",
                verbose_name="province",
            ),
        ),
        migrations.AddField(
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
        migrations.AddField(
            model_name="addresscategory",
            name="parent",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="children",
                to="addresses.addresscategory",
                verbose_name="parent",
            ),
        ),
        migrations.AddField(
            model_name="address",
            name="categories",
            field=models.ManyToManyField(
                blank=True,
                related_name="addresses",
                to="addresses.addresscategory",
                verbose_name="categories",
            ),
        ),
        migrations.AddField(
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
        migrations.AddField(
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
        migrations.AddIndex(
            model_name="address",
            index=models.Index(fields=["customer", "id"], name="addresses_address_cust_id"),
        ),
        migrations.AddIndex(
            model_name="address",
            index=models.Index(fields=["province", "customer"], name="addresses_address_province"),
        ),
        migrations.AddIndex(
            model_name="address",
            index=models.Index(fields=["city", "customer"], name="addresses_address_city"),
        ),
        migrations.AddIndex(
            model_name="address",
            index=models.Index(fields=["district", "customer"], name="addresses_address_district"),
        ),
        migrations.AddIndex(
            model_name="address",
            index=models.Index(fields=["country", "customer"], name="addresses_address_country"),
        ),
        migrations.AddIndex(
            model_name="address",
            index=models.Index(
                fields=["province", "customer_name", "customer"], name="addresses_address_prov_name"
            ),
        ),
        migrations.AddIndex(
            model_name="address",
            index=models.Index(
                fields=["city", "customer_name", "customer"], name="addresses_address_city_name"
            ),
        ),
        migrations.AddIndex(
            model_name="address",
            index=models.Index(fields=["map_key", "customer"], name="addresses_address_map_key"),
        ),
        migrations.AddIndex(
            model_name="address",
            index=models.Index(
                condition=models.Q(("precision__in", ["none", "country", "province", "city"])),
                fields=["precision"],
                name="addresses_address_coarse",
            ),
        ),
        migrations.AddConstraint(
            model_name="address",
            constraint=models.UniqueConstraint(
                condition=models.Q(("is_primary", True)),
                fields=("customer", "kind"),
                name="addresses_address_one_primary_per_kind",
            ),
        ),
        migrations.AddConstraint(
            model_name="address",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("lat__isnull", True), models.Q(("lat__gte", -90), ("lat__lte", 90)), _connector="OR"
                ),
                name="addresses_address_lat_range",
            ),
        ),
        migrations.AddConstraint(
            model_name="address",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("lng__isnull", True), models.Q(("lng__gte", -180), ("lng__lte", 180)), _connector="OR"
                ),
                name="addresses_address_lng_range",
            ),
        ),
        migrations.AddConstraint(
            model_name="address",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("lat__isnull", True), ("lng__isnull", True)),
                    models.Q(("lat__isnull", False), ("lng__isnull", False)),
                    _connector="OR",
                ),
                name="addresses_address_lat_lng_together",
            ),
        ),
        migrations.AddConstraint(
            model_name="address",
            constraint=models.CheckConstraint(
                condition=models.Q(("district__isnull", True), ("province__isnull", False), _connector="OR"),
                name="addresses_address_district_has_province",
            ),
        ),
        migrations.AddConstraint(
            model_name="address",
            constraint=models.CheckConstraint(
                condition=models.Q(("city__isnull", True), ("province__isnull", False), _connector="OR"),
                name="addresses_address_city_has_province",
            ),
        ),
        migrations.AddConstraint(
            model_name="address",
            constraint=models.CheckConstraint(
                condition=models.Q(("province__isnull", True), ("country__isnull", False), _connector="OR"),
                name="addresses_address_province_has_country",
            ),
        ),
        migrations.AddConstraint(
            model_name="address",
            constraint=models.CheckConstraint(
                condition=models.Q(("region__isnull", True), ("country__isnull", False), _connector="OR"),
                name="addresses_address_region_has_country",
            ),
        ),
        migrations.AddConstraint(
            model_name="address",
            constraint=models.CheckConstraint(
                condition=models.Q(("precision", "none"), ("lat__isnull", False), _connector="OR"),
                name="addresses_address_precision_needs_point",
            ),
        ),
        migrations.AddIndex(
            model_name="addressversion",
            index=models.Index(
                condition=models.Q(("actor__isnull", False)),
                fields=["actor"],
                name="addresses_addressversion_actor",
            ),
        ),
        migrations.AddConstraint(
            model_name="addressversion",
            constraint=models.UniqueConstraint(
                fields=("address", "version"), name="addresses_addressversion_unique_version"
            ),
        ),
        migrations.CreateModel(
            name="MapCell",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("scope", models.CharField(blank=True, default="", max_length=32, verbose_name="scope")),
                ("level", models.PositiveSmallIntegerField(verbose_name="level")),
                ("x", models.BigIntegerField(verbose_name="x")),
                ("y", models.BigIntegerField(verbose_name="y")),
                ("count", models.IntegerField(default=0, verbose_name="count")),
                ("lat_sum", models.FloatField(default=0, verbose_name="latitude sum")),
                ("lng_sum", models.FloatField(default=0, verbose_name="longitude sum")),
            ],
            options={
                "verbose_name": "map cell",
                "verbose_name_plural": "map cells",
                "db_table": "addresses_mapcell",
                "ordering": ["scope", "level", "x", "y"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("scope", "level", "x", "y"), name="addresses_mapcell_unique_scoped_cell"
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="ImportJob",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("source_name", models.CharField(max_length=255, verbose_name="file name")),
                ("file_path", models.CharField(max_length=500, verbose_name="stored file")),
                ("file_sha256", models.CharField(db_index=True, max_length=64, verbose_name="file SHA-256")),
                ("options", models.JSONField(default=dict, verbose_name="options")),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("pending", "Waiting"),
                            ("validating", "Validating"),
                            ("validated", "Validated"),
                            ("queued", "Queued"),
                            ("running", "Importing"),
                            ("done", "Finished"),
                            ("failed", "Failed"),
                            ("interrupted", "Interrupted"),
                        ],
                        default="pending",
                        max_length=12,
                        verbose_name="status",
                    ),
                ),
                ("dry_run", models.BooleanField(default=False, verbose_name="dry run")),
                ("uploaded", models.BooleanField(default=False, verbose_name="uploaded on the import page")),
                ("workers", models.PositiveSmallIntegerField(default=0, verbose_name="writer processes")),
                (
                    "total_rows",
                    models.PositiveIntegerField(blank=True, null=True, verbose_name="rows in file"),
                ),
                ("rows_done", models.PositiveIntegerField(default=0, verbose_name="rows processed")),
                ("created", models.PositiveIntegerField(default=0, verbose_name="created")),
                ("updated", models.PositiveIntegerField(default=0, verbose_name="updated")),
                ("unchanged", models.PositiveIntegerField(default=0, verbose_name="unchanged")),
                ("rejected", models.PositiveIntegerField(default=0, verbose_name="rejected")),
                ("error", models.TextField(blank=True, verbose_name="error")),
                ("preview", models.JSONField(blank=True, default=dict, verbose_name="validation preview")),
                ("report_path", models.CharField(blank=True, max_length=500, verbose_name="report file")),
                ("seconds", models.FloatField(blank=True, null=True, verbose_name="seconds")),
                ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="created")),
                ("updated_at", models.DateTimeField(auto_now=True, verbose_name="updated")),
                (
                    "created_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="created by",
                    ),
                ),
            ],
            options={
                "verbose_name": "import job",
                "verbose_name_plural": "import jobs",
                "db_table": "addresses_importjob",
                "ordering": ["-created_at", "-id"],
            },
        ),
        migrations.CreateModel(
            name="ImportCheckpoint",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("worker", models.PositiveSmallIntegerField(default=0, verbose_name="worker")),
                ("last_row", models.PositiveIntegerField(default=0, verbose_name="last row")),
                ("rows_done", models.PositiveIntegerField(default=0, verbose_name="rows processed")),
                ("created", models.PositiveIntegerField(default=0, verbose_name="created")),
                ("updated", models.PositiveIntegerField(default=0, verbose_name="updated")),
                ("unchanged", models.PositiveIntegerField(default=0, verbose_name="unchanged")),
                ("rejected", models.PositiveIntegerField(default=0, verbose_name="rejected")),
                ("report_offset", models.BigIntegerField(default=0, verbose_name="report offset")),
                ("first_errors", models.JSONField(blank=True, default=list, verbose_name="first errors")),
                ("located", models.JSONField(blank=True, default=dict, verbose_name="addresses located")),
                ("finished", models.BooleanField(default=False, verbose_name="finished")),
                (
                    "job",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="checkpoints",
                        to="addresses.importjob",
                        verbose_name="import job",
                    ),
                ),
            ],
            options={
                "verbose_name": "import checkpoint",
                "verbose_name_plural": "import checkpoints",
                "db_table": "addresses_importcheckpoint",
                "ordering": ["job", "worker"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("job", "worker"), name="addresses_importcheckpoint_one_per_worker"
                    )
                ],
            },
        ),
        migrations.RunPython(create_postgres_indexes, migrations.RunPython.noop, elidable=False),
    ]
