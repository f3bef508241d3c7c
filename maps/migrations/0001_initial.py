"""MapCell, moved from the addresses app: its table (addresses_mapcell) is already there."""

from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("addresses", "0022_move_map_and_import_models"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="MapCell",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        (
                            "scope",
                            models.CharField(blank=True, default="", max_length=32, verbose_name="scope"),
                        ),
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
                                fields=("scope", "level", "x", "y"),
                                name="addresses_mapcell_unique_scoped_cell",
                            )
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
