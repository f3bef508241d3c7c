from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from addresses.choices import Channel
from addresses.models import Address, AddressCategory, AddressVersion
from addresses.services import AddressInput, StaleAddressError, addresses_save
from crm.admin import ReadOnlyInline
from crm.db.pagination import EstimatedCountPaginator
from geo.choices import RegionLevel
from geo.models import Region


class _LevelFilter(admin.SimpleListFilter):
    """Cascading region filter: provinces of China, then the cities of the chosen
    province, then its districts — never a list of every region."""

    level = RegionLevel.PROVINCE
    parent_parameter = None

    def lookups(self, request, model_admin):
        if self.parent_parameter is None:
            regions = Region.objects.filter(level=self.level, parent__code="CN", is_active=True)
        else:
            parent = request.GET.get(self.parent_parameter)
            if not parent:
                return []
            regions = Region.objects.filter(level=self.level, parent_id=parent, is_active=True)
        return list(regions.values_list("pk", "name"))

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(**{f"{self.level}_id": self.value()})
        return queryset


class ProvinceFilter(_LevelFilter):
    title = _("province")
    parameter_name = "province"


class CityFilter(_LevelFilter):
    title = _("city")
    parameter_name = "city"
    level = RegionLevel.CITY
    parent_parameter = "province"


class DistrictFilter(_LevelFilter):
    title = _("district")
    parameter_name = "district"
    level = RegionLevel.DISTRICT
    parent_parameter = "city"


class AddressVersionInline(ReadOnlyInline):
    model = AddressVersion
    fields = ("version", "created_at", "actor_name", "channel", "changed_fields", "hash")
    readonly_fields = fields
    ordering = ("-version",)


class AddressAdminForm(forms.ModelForm):
    """Validates by running the write path; errors come back as field errors."""

    seen_version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Address
        fields = (
            "customer",
            "kind",
            "is_primary",
            "raw_text",
            "region",
            "detail",
            "postcode",
            "lat",
            "lng",
            "precision",
            "verified_at",
            "categories",
        )

    request = None
    saved_address = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["seen_version"].initial = self.instance.version
            self.fields["customer"].disabled = True

    def _item(self) -> AddressInput:
        data, changed = self.cleaned_data, set(self.changed_data)
        item = AddressInput(
            kind=data["kind"],
            is_primary=data["is_primary"],
            raw_text=data.get("raw_text") or "",
            category_ids=[c.pk for c in data.get("categories") or []],
            verified_at=data.get("verified_at"),
        )
        if self.instance.pk:
            item.address_id = self.instance.pk
            item.expected_version = data.get("seen_version") or self.instance.version
        else:
            item.customer_id = data["customer"].pk
        if data.get("region") and ("region" in changed or "raw_text" not in changed):
            item.region_code = data["region"].code
        if "detail" in changed or "raw_text" not in changed:
            item.detail = data.get("detail") or ""
        if "postcode" in changed or "raw_text" not in changed:
            item.postcode = data.get("postcode") or ""
        if {"lat", "lng"} & changed:
            item.lat, item.lng = data.get("lat"), data.get("lng")
            item.precision = data.get("precision")
            item.geocode_source = "admin"
        elif "precision" in changed:
            item.precision = data.get("precision")
        return item

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        try:
            result = addresses_save(items=[self._item()], actor=self.request.user, channel=Channel.ADMIN)
        except StaleAddressError as exc:
            raise ValidationError(str(exc)) from exc
        if result.errors:
            for name, messages in result.errors[0].items():
                target = name if name in self.fields else None
                for message in messages:
                    self.add_error(target, message)
        else:
            self.saved_address = result.addresses[0]
        return cleaned


@admin.register(Address)
class AddressAdmin(admin.ModelAdmin):
    form = AddressAdminForm
    list_display = (
        "customer",
        "kind",
        "is_primary",
        "province",
        "city",
        "district",
        "detail",
        "precision",
        "version",
    )
    list_filter = (ProvinceFilter, CityFilter, DistrictFilter, "kind", "precision", "categories")
    search_fields = ("=customer__name", "detail", "=postcode", "=customer__external_id")
    list_select_related = ("customer", "province", "city", "district")
    autocomplete_fields = ("customer", "region")
    filter_horizontal = ("categories",)
    readonly_fields = ("country", "province", "city", "district", "geocode_source", "version")
    inlines = [AddressVersionInline]
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    fieldsets = (
        (None, {"fields": ("customer", "kind", "is_primary", "raw_text", "seen_version")}),
        (
            _("Structured"),
            {"fields": ("region", "country", "province", "city", "district", "detail", "postcode")},
        ),
        (_("Location"), {"fields": ("lat", "lng", "precision", "geocode_source", "verified_at")}),
        (_("Classification"), {"fields": ("categories", "version")}),
    )

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        return type(form.__name__, (form,), {"request": request})

    def save_model(self, request, obj, form, change):
        # The write already happened, through the service, when the form was validated.
        saved = form.saved_address
        obj.pk = saved.pk
        obj.version = saved.version

    def save_related(self, request, form, formsets, change):
        # Categories were written by the service; the only inline is read-only history.
        for formset in formsets:
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []

    def has_delete_permission(self, request, obj=None):
        # History is append-only; deleting addresses belongs to the erasure workflow.
        return request.user.is_superuser


@admin.register(AddressCategory)
class AddressCategoryAdmin(admin.ModelAdmin):
    list_display = ("name", "colour", "parent", "created_at")
    search_fields = ("name", "description")
    autocomplete_fields = ("parent",)


@admin.register(AddressVersion)
class AddressVersionAdmin(admin.ModelAdmin):
    list_display = ("address_id", "version", "created_at", "actor_name", "channel", "hash")
    list_filter = ("channel",)
    search_fields = ("=address__id", "=customer_id", "=hash")
    list_select_related = ()
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    readonly_fields = [f.name for f in AddressVersion._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
