from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from addresses.choices import AddressKind
from addresses.models import AddressCategory
from geo.presentation import display_point, region_label
from geo.selectors import region_children, region_get


def add_service_errors(form: forms.Form, error: ValidationError, aliases: dict[str, str] | None = None):
    """Show a service's ValidationError(dict) next to the form's fields (the rest on top)."""
    aliases = aliases or {}
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for name, messages in error.message_dict.items():
        name = aliases.get(name, name)
        form.add_error(name if name in form.fields else None, messages)


class RegionSelect(forms.Select):
    """A region picker: `data-level` tells address-form.js which cascade step it is."""

    def __init__(self, level: str):
        super().__init__(attrs={"class": "form-select", "data-region-level": level})


def _children(code: str) -> list:
    """The active regions under `code` (countries for ""); [] for an unknown code."""
    if not code:
        return region_children(parent=None)
    parent = region_get(code=code)
    return region_children(parent=parent) if parent is not None else []


def _region_choices(parent_code: str | None, *, empty: str, keep: str | None = None, levels=None):
    choices = [("", empty)]
    if parent_code is None:
        return choices
    for region in _children(parent_code):
        if levels is None or region.level in levels:
            choices.append((region.code, region_label(region)))
    if keep and keep not in {c for c, _l in choices}:
        choices.append((keep, keep))  # an unknown code stays visible so its error makes sense
    return choices


class AddressForm(forms.Form):
    raw_text = forms.CharField(
        label=_("Paste an address"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(
            attrs={
                "rows": 2,
                "class": "form-control",
                "placeholder": _("e.g. 广东省深圳市南山区科技园科苑路15号 518057"),
                "autocomplete": "off",
            }
        ),
        help_text=_("The fields below are filled in as you type; correct them if needed."),
    )
    kind = forms.ChoiceField(
        label=_("Kind"),
        choices=AddressKind.choices,
        initial=AddressKind.DELIVERY,
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    is_primary = forms.BooleanField(
        label=_("Primary address of this kind"),
        required=False,
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
    )
    country = forms.CharField(label=_("Country"), required=False, widget=RegionSelect("country"))
    province = forms.CharField(label=_("Province"), required=False, widget=RegionSelect("province"))
    city = forms.CharField(label=_("City"), required=False, widget=RegionSelect("city"))
    district = forms.CharField(label=_("District"), required=False, widget=RegionSelect("district"))
    detail = forms.CharField(
        label=_("Detail line"),
        required=False,
        max_length=300,
        widget=forms.TextInput(
            attrs={"class": "form-control", "placeholder": _("street, number, building, room")}
        ),
    )
    postcode = forms.CharField(
        label=_("Postcode"),
        required=False,
        max_length=20,
        widget=forms.TextInput(attrs={"class": "form-control", "inputmode": "numeric"}),
    )
    lat = forms.DecimalField(required=False, max_digits=10, decimal_places=7, widget=forms.HiddenInput)
    lng = forms.DecimalField(required=False, max_digits=11, decimal_places=7, widget=forms.HiddenInput)
    pin_moved = forms.BooleanField(required=False, widget=forms.HiddenInput)
    verified = forms.BooleanField(
        label=_("Verified with the customer"),
        required=False,
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
    )
    categories = forms.ModelMultipleChoiceField(
        label=_("Categories"),
        queryset=AddressCategory.objects.order_by("name"),
        required=False,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
    )
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    # Service error keys → form fields.
    SERVICE_FIELDS = {"region": "district", "lat": "lat", "lng": "lng", "crs": None}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        country = self._value("country") or "CN"
        province = self._value("province")
        city = self._value("city")
        self.fields["country"].widget.choices = _region_choices("", empty=_("Country…"), keep=country)
        self.fields["province"].widget.choices = _region_choices(
            country, empty=_("Province…"), keep=province, levels={"province"}
        )
        under_province = _children(province) if province else []
        cities = [("", _("City…"))] + [(r.code, region_label(r)) for r in under_province if r.level == "city"]
        if city and city not in {c for c, _l in cities}:
            cities.append((city, city))
        self.fields["city"].widget.choices = cities
        # A district hangs under its city, or directly under the province (仙桃, 济源).
        districts = [("", _("District…"))]
        if city:
            districts += [(r.code, region_label(r)) for r in _children(city)]
        districts += [(r.code, region_label(r)) for r in under_province if r.level == "district"]
        district = self._value("district")
        if district and district not in {c for c, _l in districts}:
            districts.append((district, district))
        self.fields["district"].widget.choices = districts
        if not self.is_bound and "country" not in self.initial:
            self.initial["country"] = "CN"

    def _value(self, name: str) -> str:
        if self.is_bound:
            return (self.data.get(self.add_prefix(name)) or "").strip()
        return self.initial.get(name) or ""

    def is_empty(self) -> bool:
        """Nothing typed about the address (used when it is optional, on the customer form)."""
        d = self.cleaned_data
        return not (
            d.get("raw_text")
            or d.get("detail")
            or d.get("province")
            or d.get("postcode")
            or d.get("pin_moved")
        )

    def service_fields(self, *, crs: str, current=None) -> dict:
        """Keyword arguments for address_create / address_update from the cleaned data."""
        from django.utils import timezone

        d = self.cleaned_data
        codes = {
            "country_code": d["country"] or None,
            "province_code": d["province"] or None,
            "city_code": d["city"] or None,
            "district_code": d["district"] or None,
        }
        if not d["province"] and not d["district"]:
            # Country alone says little: let the pasted text decide unless nothing else is given.
            if d["raw_text"]:
                codes["country_code"] = None
        fields = {
            "kind": d["kind"],
            "is_primary": d["is_primary"],
            "raw_text": d["raw_text"],
            "detail": d["detail"],
            "postcode": d["postcode"],
            "category_ids": [c.pk for c in d["categories"]],
            **codes,
        }
        if d["raw_text"] and not any(codes.values()):
            # No structured chain: the service parses the text; let it fill what the user left blank.
            fields["detail"] = d["detail"] or None
            fields["postcode"] = d["postcode"] or None
        if d["pin_moved"] and d["lat"] is not None and d["lng"] is not None:
            fields.update(lat=d["lat"], lng=d["lng"], crs=crs, precision="rooftop", geocode_source="manual")
        if d["verified"]:
            if current is None or current.verified_at is None:
                fields["verified_at"] = timezone.now()
        elif current is not None and current.verified_at is not None:
            fields["verified_at"] = None
        return fields

    def add_service_errors(self, error: ValidationError):
        add_service_errors(self, error, aliases={"region": "district", "is_primary": "is_primary"})


def address_initial(address) -> dict:
    """Form values for editing `address`, pickers preselected along its region chain."""
    point = display_point(address.lat, address.lng)
    return {
        "raw_text": address.raw_text,
        "kind": address.kind,
        "is_primary": address.is_primary,
        "country": address.country.code if address.country_id else "CN",
        "province": address.province.code if address.province_id else "",
        "city": address.city.code if address.city_id else "",
        "district": address.district.code if address.district_id else "",
        "detail": address.detail,
        "postcode": address.postcode,
        "lat": point[0] if point else None,
        "lng": point[1] if point else None,
        "verified": address.verified_at is not None,
        "categories": [c.pk for c in address.categories.all()],
        "version": address.version,
    }


class CategorizeForm(forms.Form):
    add = forms.ModelChoiceField(queryset=AddressCategory.objects.all(), required=False)
    remove = forms.ModelChoiceField(queryset=AddressCategory.objects.all(), required=False)


class ColourInput(forms.TextInput):
    input_type = "color"


class CategoryForm(forms.ModelForm):
    class Meta:
        model = AddressCategory
        fields = ("name", "description", "colour", "parent")
        widgets = {
            "name": forms.TextInput(attrs={"class": "form-control", "autofocus": True}),
            "description": forms.Textarea(attrs={"class": "form-control", "rows": 3}),
            "colour": ColourInput(attrs={"class": "form-control form-control-color"}),
            "parent": forms.Select(attrs={"class": "form-select"}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        parent = self.fields["parent"]
        parent.empty_label = _("(none: a top-level category)")
        if self.instance.pk:
            parent.queryset = parent.queryset.exclude(pk=self.instance.pk)
