from django.contrib import admin
from django.db.models import Exists, OuterRef
from django.utils.translation import gettext_lazy as _

from addresses.models import Address, AddressCategory
from crm.db.pagination import EstimatedCountPaginator
from customers.models import Customer, Territory, TrashItem
from customers.services import (
    CUSTOMER_FIELDS,
    customer_create,
    customer_delete,
    customer_update,
    customers_delete,
    territory_assign,
    territory_remove,
    territory_update,
)
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

    # Saves and deletes go through customers.services, like every other channel: the copies the
    # addresses keep of a customer (which the map's access rule reads) stay true.
    def save_model(self, request, obj, form, change):
        fields = {name: form.cleaned_data[name] for name in form.changed_data if name in CUSTOMER_FIELDS}
        if change:
            customer = Customer.objects.get(pk=obj.pk)
            customer_update(customer=customer, actor=request.user, **fields)
            obj.__dict__.update({k: v for k, v in customer.__dict__.items() if not k.startswith("_")})
        else:
            created = customer_create(actor=request.user, **{f: getattr(obj, f) for f in CUSTOMER_FIELDS})
            obj.pk = created.pk
            obj.__dict__.update({k: v for k, v in created.__dict__.items() if not k.startswith("_")})

    def delete_model(self, request, obj):
        customer_delete(customer=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        customers_delete(customer_ids=list(queryset.values_list("pk", flat=True)), actor=request.user)


@admin.register(Territory)
class TerritoryAdmin(admin.ModelAdmin):
    list_display = ("user", "region")
    list_select_related = ("user", "region")
    autocomplete_fields = ("user", "region")
    search_fields = ("user__username", "region__name")

    def save_model(self, request, obj, form, change):
        if change:
            territory = Territory.objects.get(pk=obj.pk)
            territory_update(territory=territory, actor=request.user, user=obj.user, region=obj.region)
        else:
            obj.pk = territory_assign(user=obj.user, region=obj.region, actor=request.user).pk

    def delete_model(self, request, obj):
        territory_remove(territory=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for territory in queryset:
            territory_remove(territory=territory, actor=request.user)


@admin.register(TrashItem)
class TrashItemAdmin(admin.ModelAdmin):
    """Read-only: restoring goes through the services, from the trash page (/addresses/trash/)."""

    list_display = ("kind", "label", "customer_name", "deleted_at", "deleted_by", "restored_at")
    list_filter = ("kind",)
    search_fields = ("label", "customer_name")
    date_hierarchy = "deleted_at"
    exclude = ("payload",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
