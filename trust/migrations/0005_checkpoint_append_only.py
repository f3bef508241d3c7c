"""PostgreSQL rejects UPDATE and DELETE on history checkpoints (the history's trigger function)."""

from django.db import migrations

SQL = """
CREATE TRIGGER trust_historycheckpoint_append_only
    BEFORE UPDATE OR DELETE ON trust_historycheckpoint
    FOR EACH ROW EXECUTE FUNCTION dizhi_history_append_only();
"""
REVERSE = "DROP TRIGGER IF EXISTS trust_historycheckpoint_append_only ON trust_historycheckpoint;"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(SQL, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(REVERSE, params=None)


class Migration(migrations.Migration):
    dependencies = [("trust", "0004_history_checkpoint"), ("addresses", "0026_history_append_only")]

    operations = [migrations.RunPython(forwards, backwards)]
