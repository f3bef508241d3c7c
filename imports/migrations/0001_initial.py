"""ImportJob and ImportCheckpoint, moved from the addresses app: their tables are already there."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("addresses", "0022_move_map_and_import_models"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
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
                        (
                            "file_sha256",
                            models.CharField(db_index=True, max_length=64, verbose_name="file SHA-256"),
                        ),
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
                        (
                            "uploaded",
                            models.BooleanField(default=False, verbose_name="uploaded on the import page"),
                        ),
                        (
                            "workers",
                            models.PositiveSmallIntegerField(default=0, verbose_name="writer processes"),
                        ),
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
                        (
                            "preview",
                            models.JSONField(blank=True, default=dict, verbose_name="validation preview"),
                        ),
                        (
                            "report_path",
                            models.CharField(blank=True, max_length=500, verbose_name="report file"),
                        ),
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
                        (
                            "first_errors",
                            models.JSONField(blank=True, default=list, verbose_name="first errors"),
                        ),
                        (
                            "located",
                            models.JSONField(blank=True, default=dict, verbose_name="addresses located"),
                        ),
                        ("finished", models.BooleanField(default=False, verbose_name="finished")),
                        (
                            "job",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="checkpoints",
                                to="imports.importjob",
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
            ],
            database_operations=[],
        ),
    ]
