"""PostgreSQL rejects UPDATE and DELETE on the audit trail, except the retention prune
(trust.services.audit_prune) deleting entries older than the period it sets for its session."""

from django.db import migrations

FUNCTION = """
CREATE OR REPLACE FUNCTION dizhi_audit_append_only() RETURNS trigger AS $$
DECLARE
    days text := current_setting('dizhi.audit_prune_days', true);
BEGIN
    IF TG_OP = 'DELETE' AND coalesce(days, '') <> ''
       AND OLD.created_at < now() - make_interval(days => days::int) THEN
        RETURN OLD;
    END IF;
    IF coalesce(current_setting('dizhi.history_maintenance', true), '') = 'on' THEN
        RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    END IF;
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER trust_auditentry_append_only
    BEFORE UPDATE OR DELETE ON trust_auditentry
    FOR EACH ROW EXECUTE FUNCTION dizhi_audit_append_only();
"""

REVERSE = "DROP TRIGGER IF EXISTS trust_auditentry_append_only ON trust_auditentry;"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FUNCTION, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(REVERSE, params=None)


class Migration(migrations.Migration):
    dependencies = [("trust", "0001_audit_trail")]

    operations = [migrations.RunPython(forwards, backwards)]
