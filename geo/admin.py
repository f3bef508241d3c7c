from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from crm.db.pagination import EstimatedCountPaginator
from geo.models import Region


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    list_display = (
        "code",
        "name",
        "name_en",
        "level",
        "parent",
        "lat",
        "lng",
        "centroid_estimated",
        "is_active",
    )
    list_filter = ("level", "is_active", "centroid_estimated")
    search_fields = ("code", "name", "name_en", "short_name", "aliases")
    list_select_related = ("parent",)
    autocomplete_fields = ("parent", "successor")
    readonly_fields = ("path",)
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    fieldsets = (
        (None, {"fields": ("code", "name", "name_en", "short_name", "aliases", "level", "parent", "path")}),
        (_("Centroid"), {"fields": ("lat", "lng", "centroid_source", "centroid_estimated")}),
        (_("Lifecycle"), {"fields": ("is_active", "successor")}),
    )
