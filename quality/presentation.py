"""How quality figures read to people: reason chips of a duplicate pair."""

from django.utils.translation import gettext as _


def reason_labels(reasons) -> list[str]:
    """["same phone", "name 93%", ...] for the reasons the scan kept with a pair."""
    out = []
    for reason in reasons or ():
        word, _sep, value = reason.partition(" ")
        if word == "phone":
            out.append(_("same phone"))
        elif word == "email":
            out.append(_("same email"))
        elif word == "same":
            out.append(_("same city"))
        elif word in ("name", "address") and value:
            label = _("name") if word == "name" else _("address")
            out.append(f"{label} {round(float(value) * 100)}%")
        else:
            out.append(reason)
    return out
