from django.contrib import admin

from crm.admin import ReadOnlyInline
from imports.models import ImportCheckpoint, ImportJob


class ImportCheckpointInline(ReadOnlyInline):
    model = ImportCheckpoint
    fields = ("worker", "last_row", "rows_done", "created", "updated", "unchanged", "rejected", "finished")
    readonly_fields = fields


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    """What was imported, by whom, with what result: a record, written by the import only.

    The page for managers (imports:job) resumes and downloads; here admins look.
    """

    list_display = (
        "source_name",
        "created_at",
        "created_by",
        "status",
        "dry_run",
        "uploaded",
        "total_rows",
        "created",
        "updated",
        "unchanged",
        "rejected",
        "workers",
        "seconds",
    )
    list_filter = ("status", "dry_run", "uploaded")
    search_fields = ("source_name", "=file_sha256", "created_by__username")
    list_select_related = ("created_by",)
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in ImportJob._meta.fields]
    inlines = [ImportCheckpointInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
