"""Admin pieces every app's admin uses."""

from django.contrib import admin


class ReadOnlyInline(admin.TabularInline):
    """Rows the admin shows beside their parent but only the app writes."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False
