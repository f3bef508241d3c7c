from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from customers.choices import CustomerKind, RelationshipStage


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
