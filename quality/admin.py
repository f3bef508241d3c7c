from django.contrib import admin

from quality.models import CustomerAlias, CustomerMerge, DuplicatePair


@admin.register(DuplicatePair)
class DuplicatePairAdmin(admin.ModelAdmin):
    list_display = ("customer_a", "customer_b", "score", "status", "found_at")
    list_filter = ("status",)
    raw_id_fields = ("customer_a", "customer_b", "decided_by")
    show_full_result_count = False

    def has_add_permission(self, request):
        return False


@admin.register(CustomerMerge)
class CustomerMergeAdmin(admin.ModelAdmin):
    list_display = ("merged_id", "survivor", "actor", "created_at", "undone_at")
    raw_id_fields = ("survivor", "actor", "undone_by")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(CustomerAlias)
class CustomerAliasAdmin(admin.ModelAdmin):
    list_display = ("external_id", "customer")
    search_fields = ("external_id",)
    raw_id_fields = ("customer", "merge")
