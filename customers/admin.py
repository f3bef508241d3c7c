from django.contrib import admin
from django.db.models import Exists, OuterRef
from django.utils.translation import gettext_lazy as _

from addresses.models import Address, AddressCategory
from crm.db.pagination import EstimatedCountPaginator
from customers.models import Customer, Territory
from geo.choices import RegionLevel
from geo.models import Region


class AddressProvinceFilter(admin.SimpleListFilter):
    """Customers with an address in a Chinese province (34 choices, not a table scan)."""

    title = _("province")
    parameter_name = "province"

    def lookups(self, request, model_admin):
        return Region.objects.filter(
            level=RegionLevel.PROVINCE, parent__code="CN", is_active=True
        ).values_list("pk", "name")

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(
                Exists(Address.objects.filter(customer=OuterRef("pk"), province_id=self.value()))
            )
        return queryset


class AddressCategoryFilter(admin.SimpleListFilter):
    title = _("address category")
    parameter_name = "category"

    def lookups(self, request, model_admin):
        return AddressCategory.objects.values_list("pk", "name")

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(
                Exists(Address.objects.filter(customer=OuterRef("pk"), categories=self.value()))
            )
        return queryset


class AddressInline(admin.TabularInline):
    model = Address
    fields = ("kind", "is_primary", "province", "city", "district", "detail", "precision", "version")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("province", "city", "district")


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "stage", "owner", "phone", "external_id", "updated_at")
    list_filter = ("kind", "stage", "owner", AddressProvinceFilter, AddressCategoryFilter)
    search_fields = ("name", "=phone", "=email", "=external_id")
    autocomplete_fields = ("owner",)
    list_select_related = ("owner",)
    inlines = [AddressInline]
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    date_hierarchy = None


@admin.register(Territory)
class TerritoryAdmin(admin.ModelAdmin):
    list_display = ("user", "region")
    list_select_related = ("user", "region")
    autocomplete_fields = ("user", "region")
    search_fields = ("user__username", "region__name")
