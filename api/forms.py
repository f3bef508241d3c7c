from django import forms
from django.utils.translation import gettext_lazy as _

from api.choices import TokenScope, WebhookEvent

EXPIRY_CHOICES = (
    ("30", _("30 days")),
    ("90", _("90 days")),
    ("365", _("1 year")),
    ("", _("Never")),
)


class TokenForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=100,
        help_text=_("What uses it, e.g. “ERP sync”."),
        widget=forms.TextInput(attrs={"class": "form-control"}),
    )
    scope = forms.ChoiceField(
        label=_("Scope"),
        choices=TokenScope.choices,
        initial=TokenScope.READ,
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    expires_in = forms.ChoiceField(
        label=_("Expires after"),
        choices=EXPIRY_CHOICES,
        initial="90",
        required=False,
        widget=forms.Select(attrs={"class": "form-select"}),
    )


class WebhookEndpointForm(forms.Form):
    url = forms.URLField(
        label=_("URL"),
        max_length=500,
        assume_scheme="https",
        help_text=_("An https:// address on the internet; private and loopback addresses are refused."),
        widget=forms.URLInput(
            attrs={"class": "form-control", "placeholder": "https://erp.example.com/dizhi-hook"}
        ),
    )
    description = forms.CharField(
        label=_("Description"),
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"class": "form-control"}),
    )
    events = forms.MultipleChoiceField(
        label=_("Events"),
        choices=WebhookEvent.choices,
        initial=[e for e in WebhookEvent.values if e != WebhookEvent.CUSTOMER_MERGED],
        widget=forms.CheckboxSelectMultiple,
    )
