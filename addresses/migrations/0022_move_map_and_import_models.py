"""The map's cells and the import's jobs move to their own apps (maps, imports); their tables
keep their names, so nothing is copied: this only forgets them here."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("addresses", "0001_squashed_0021"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveConstraint(
                    model_name="importcheckpoint",
                    name="addresses_importcheckpoint_one_per_worker",
                ),
                migrations.RemoveField(
                    model_name="importjob",
                    name="created_by",
                ),
                migrations.RemoveConstraint(
                    model_name="mapcell",
                    name="addresses_mapcell_unique_scoped_cell",
                ),
                migrations.DeleteModel(
                    name="MapCell",
                ),
                migrations.DeleteModel(
                    name="ImportCheckpoint",
                ),
                migrations.DeleteModel(
                    name="ImportJob",
                ),
            ],
            database_operations=[],
        ),
    ]
