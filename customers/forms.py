"""Forms of the customer pages: creating and editing a customer, the list's active-filter chips
and its bulk actions."""

from dataclasses import dataclass

from django import forms
from django.contrib.auth import get_user_model
from django.http import QueryDict
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from addresses.models import AddressCategory
from customers.choices import CustomerKind, RelationshipStage
from customers.filtersets import LOCATED_CHOICES
from geo.presentation import region_label

MAX_BULK = 1000


class CustomerIdsField(forms.Field):
    """Ids of the selected customers: repeated `ids` values or one comma-separated value."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value):
        values = value if isinstance(value, list | tuple) else [value or ""]
        ids = []
        for chunk in values:
            for part in str(chunk).split(","):
                if part.strip():
                    try:
                        ids.append(int(part))
                    except ValueError:
                        raise forms.ValidationError(_("Invalid selection.")) from None
        return list(dict.fromkeys(ids))

    def validate(self, value):
        if not value:
            raise forms.ValidationError(_("Select at least one customer."))
        if len(value) > MAX_BULK:
            raise forms.ValidationError(_("Select at most %(max)d customers at once.") % {"max": MAX_BULK})


class BulkCategoryForm(forms.Form):
    ids = CustomerIdsField()
    category = forms.ModelChoiceField(queryset=AddressCategory.objects.all(), label=_("Category"))
    mode = forms.ChoiceField(choices=(("add", _("Assign")), ("remove", _("Remove"))), label=_("Action"))


class BulkOwnerForm(forms.Form):
    ids = CustomerIdsField()
    owner = forms.ModelChoiceField(
        queryset=get_user_model().objects.filter(is_active=True), label=_("New owner")
    )


@dataclass(frozen=True)
class FilterChip:
    label: str
    value: str
    remove_url: str


def _without(params: QueryDict, key: str, value: str | None = None) -> str:
    """The query string of `params` without `key` (or just one of its values), and without `page`."""
    query = params.copy()
    query.pop("page", None)
    if value is None:
        query.pop(key, None)
    else:
        query.setlist(key, [v for v in query.getlist(key) if v != value])
    encoded = query.urlencode()
    return "?" + encoded if encoded else "?"


def filter_chips(filterset, *, params: QueryDict, region_chain, categories, owners) -> list[FilterChip]:
    """The active filters as removable chips, each named in words (never by code or id)."""
    if not filterset.is_bound or not filterset.is_valid():
        return []
    data = filterset.form.cleaned_data
    chips = []

    def add(label, value, key, one_value=None):
        chips.append(FilterChip(str(label), str(value), _without(params, key, one_value)))

    if data.get("q"):
        add(_("Search"), data["q"], "q")
    if params.get("region"):
        names = " › ".join(region_label(r) for r in region_chain[1:] or region_chain)
        add(_("Region"), names or params["region"], "region")
    if data.get("kind"):
        add(_("Kind"), CustomerKind(data["kind"]).label, "kind")
    for stage in data.get("stage") or ():
        add(_("Stage"), RelationshipStage(stage).label, "stage", stage)
    if data.get("owner") is not None:
        owner = next((u for u in owners if u.pk == int(data["owner"])), None)
        add(_("Owner"), owner.get_full_name() or owner.username if owner else "—", "owner")
    names = {c.pk: c.name for c in categories}
    for cat in data.get("category") or ():
        add(_("Category"), names.get(cat.pk, cat.name), "category", str(cat.pk))
    if data.get("located"):
        add(_("Location"), dict(LOCATED_CHOICES)[data["located"]], "located")
    for field, label in (("created", _("Created")), ("updated", _("Updated"))):
        span = data.get(field)
        if span and (span.start or span.stop):
            start = date_format(span.start, "SHORT_DATE_FORMAT") if span.start else "…"
            stop = date_format(span.stop, "SHORT_DATE_FORMAT") if span.stop else "…"
            query = params.copy()
            query.pop(f"{field}_after", None)
            query.pop(f"{field}_before", None)
            query.pop("page", None)
            chips.append(FilterChip(str(label), f"{start} – {stop}", "?" + query.urlencode()))
    if data.get("ids"):
        add(_("Selected customers"), len(data["ids"]), "ids")
    return chips


class CustomerForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=200,
        widget=forms.TextInput(attrs={"class": "form-control", "autofocus": True}),
    )
    kind = forms.ChoiceField(
        label=_("Kind"),
        choices=CustomerKind.choices,
        initial=CustomerKind.ENTERPRISE,
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    stage = forms.ChoiceField(
        label=_("Relationship stage"),
        choices=RelationshipStage.choices,
        initial=RelationshipStage.POTENTIAL,
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    phone = forms.CharField(
        label=_("Phone"),
        max_length=40,
        required=False,
        widget=forms.TextInput(attrs={"class": "form-control", "type": "tel"}),
    )
    email = forms.EmailField(
        label=_("Email"), required=False, widget=forms.EmailInput(attrs={"class": "form-control"})
    )
    external_id = forms.CharField(
        label=_("External id"),
        max_length=100,
        required=False,
        widget=forms.TextInput(attrs={"class": "form-control"}),
        help_text=_("The customer's id in another system (optional, unique)."),
    )
    owner = forms.ModelChoiceField(
        label=_("Owner"),
        queryset=get_user_model().objects.none(),
        required=False,
        widget=forms.Select(attrs={"class": "form-select"}),
    )

    def __init__(self, *args, can_assign_owner: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if can_assign_owner:
            self.fields["owner"].queryset = (
                get_user_model().objects.filter(is_active=True).order_by("username")
            )
        else:
            # Sales users own what they create; only managers hand customers over.
            del self.fields["owner"]


def customer_initial(customer) -> dict:
    return {
        "name": customer.name,
        "kind": customer.kind,
        "stage": customer.stage,
        "phone": customer.phone,
        "email": customer.email,
        "external_id": customer.external_id or "",
        "owner": customer.owner_id,
    }
