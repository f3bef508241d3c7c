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


def share(part, whole) -> str:
    """ "93%" (or "—" when there is nothing to count)."""
    if not whole:
        return "—"
    return f"{round(100 * (part or 0) / whole)}%"


def trend_points(trend, key: str, whole: str, width: int = 300, height: int = 60) -> str:
    """SVG polyline points of figures[key] / figures[whole] over the snapshots, 0..100%."""
    values = [(f.get(key) or 0) / f[whole] if f.get(whole) else 0 for _day, f in trend]
    if not values:
        return ""
    step = width / max(len(values) - 1, 1)
    return " ".join(f"{i * step:.1f},{height - v * height:.1f}" for i, v in enumerate(values))
