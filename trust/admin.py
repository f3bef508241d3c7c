from django.contrib import admin

from trust.models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """The audit trail, searchable by user, customer and address; nobody edits or deletes it here."""

    list_display = ("created_at", "actor_name", "action", "customer_id", "ip_address", "details")
    list_filter = ("action", ("created_at", admin.DateFieldListFilter))
    search_fields = ("actor_name", "=customer_id", "=actor_id", "=ip_address")
    date_hierarchy = "created_at"
    show_full_result_count = False
    readonly_fields = [f.name for f in AuditEntry._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
