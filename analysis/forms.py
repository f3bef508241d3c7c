from django import forms
from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from analysis.choices import ActivityKind


class ContactForm(forms.Form):
    name = forms.CharField(
        label=_("Contact name"), max_length=100, widget=forms.TextInput(attrs={"class": "form-control"})
    )
    title = forms.CharField(
        label=_("Title"),
        max_length=100,
        required=False,
        widget=forms.TextInput(attrs={"class": "form-control"}),
    )
    phone = forms.CharField(
        label=_("Phone"),
        max_length=40,
        required=False,
        widget=forms.TextInput(attrs={"class": "form-control", "type": "tel"}),
    )
    mobile = forms.CharField(
        label=_("Mobile"),
        max_length=40,
        required=False,
        widget=forms.TextInput(attrs={"class": "form-control", "type": "tel"}),
    )
    email = forms.EmailField(
        label=_("Email"), required=False, widget=forms.EmailInput(attrs={"class": "form-control"})
    )
    is_primary = forms.BooleanField(
        label=_("Primary contact"),
        required=False,
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
    )


class ActivityForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Kind"),
        choices=ActivityKind.choices,
        initial=ActivityKind.CALL,
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    subject = forms.CharField(
        label=_("Subject"), max_length=200, widget=forms.TextInput(attrs={"class": "form-control"})
    )
    note = forms.CharField(
        label=_("Note"), required=False, widget=forms.Textarea(attrs={"class": "form-control", "rows": 2})
    )
    occurred_at = forms.DateTimeField(
        label=_("When"),
        required=False,
        widget=forms.DateTimeInput(
            attrs={"class": "form-control", "type": "datetime-local"}, format="%Y-%m-%dT%H:%M"
        ),
    )
    contact = forms.TypedChoiceField(
        label=_("Contact"),
        required=False,
        coerce=int,
        empty_value=None,
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    follow_up_on = forms.DateField(
        label=_("Follow up on"),
        required=False,
        widget=forms.DateInput(attrs={"class": "form-control", "type": "date"}),
    )
    assignee = forms.ModelChoiceField(
        label=_("Follow-up owner"),
        queryset=get_user_model().objects.filter(is_active=True).order_by("username"),
        required=False,
        widget=forms.Select(attrs={"class": "form-select"}),
    )

    def __init__(self, *args, contacts=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.contacts = {c.pk: c for c in contacts}
        self.fields["contact"].choices = [("", "—"), *[(c.pk, str(c)) for c in contacts]]

    def service_fields(self) -> dict:
        data = dict(self.cleaned_data)
        data["occurred_at"] = data.get("occurred_at") or timezone.now()
        data["contact"] = self.contacts.get(data.get("contact"))
        return data


class CheckInForm(forms.Form):
    customer = forms.IntegerField(required=False)
    address = forms.IntegerField(required=False)
    lat = forms.DecimalField(required=False, min_value=-90, max_value=90)
    lng = forms.DecimalField(required=False, min_value=-180, max_value=180)
    note = forms.CharField(required=False, max_length=2000)
