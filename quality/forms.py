from django import forms
from django.utils.translation import gettext_lazy as _

from quality.services import MERGE_FIELDS

SIDES = [("a", "A"), ("b", "B")]


class MergeForm(forms.Form):
    """Which customer survives, and which side's value each field keeps."""

    survivor = forms.ChoiceField(label=_("Keep"), choices=SIDES, initial="a", widget=forms.RadioSelect)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in MERGE_FIELDS:
            self.fields[f"take_{name}"] = forms.ChoiceField(
                choices=SIDES, required=False, widget=forms.RadioSelect
            )

    def merge_values(self) -> dict:
        """{field: "other"} for each field whose value comes from the customer that goes away."""
        survivor = self.cleaned_data["survivor"]
        return {
            name: "other"
            for name in MERGE_FIELDS
            if self.cleaned_data.get(f"take_{name}") and self.cleaned_data[f"take_{name}"] != survivor
        }
