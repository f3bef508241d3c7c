"""Column presets: how another system's export names Dizhi's fields (shipped for Salesforce,
HubSpot, Zoho and Fxiaoke in imports/presets/*.json, or saved by a team on the upload page), and
a guess for a header no preset knows. Used by the upload page and `import_customers --preset`."""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from imports.columns import FIELD_HEADERS, norm_header

PRESET_DIR = Path(__file__).resolve().parent / "presets"
IGNORE = "-"
_KNOWN = {norm_header(h): field for field, names in FIELD_HEADERS.items() for h in (*names, field)}
# Words that name a field inside a longer header ("Billing City", "Mailing Zip Code").
_WORDS = {
    "city": "city", "town": "city", "province": "province", "state": "province", "region": "province",
    "county": "district", "district": "district", "street": "detail", "zip": "postcode",
    "postal": "postcode", "postcode": "postcode", "country": "country", "phone": "phone",
    "mobile": "phone", "email": "email", "mail": "email", "latitude": "lat", "longitude": "lng",
    "name": "name", "id": "external_id",
}  # fmt: skip


@dataclass(frozen=True)
class Preset:
    """A named mapping {header: field, or "-" to leave the column out}."""

    key: str  # "salesforce", or "saved:<id>" for a team's preset
    name: str
    mapping: dict[str, str]
    note: str = ""


@dataclass(frozen=True)
class ColumnChoice:
    """One header of an uploaded file and the field it will be read as."""

    header: str
    field: str  # "" when nothing matched (the column is left out unless someone picks a field)
    how: str  # "known" (Dizhi's own header), "preset", "guessed" or ""


@cache
def shipped_presets() -> dict[str, Preset]:
    """The presets that come with Dizhi, by file name."""
    out = {}
    for path in sorted(PRESET_DIR.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        out[path.stem] = Preset(path.stem, data["name"], data["mapping"], data.get("note", ""))
    return out


def guess_field(header: str) -> str:
    """The field a header probably names: a near-spelling of a known header, else a field word
    inside it (the last one wins: "Billing City" is a city). "" when nothing is close."""
    key = norm_header(header)
    if not key:
        return ""
    close = difflib.get_close_matches(key, list(_KNOWN), n=1, cutoff=0.8)
    if close:
        return _KNOWN[close[0]]
    words = [w for w in re.split(r"[^a-z0-9]+", header.casefold()) if w in _WORDS]
    return _WORDS[words[-1]] if words else ""


def column_choices(headers: list[str], preset: Preset | None = None) -> list[ColumnChoice]:
    """Each header with its field: the preset's first, then Dizhi's own headers, then a guess.
    A field goes to its first column only."""
    mapping = {norm_header(k): v for k, v in (preset.mapping if preset else {}).items()}
    taken: set[str] = set()
    out = []
    for header in headers:
        key = norm_header(header)
        if key in mapping:
            field, how = mapping[key], "preset"
        elif key in _KNOWN:
            field, how = _KNOWN[key], "known"
        else:
            field = guess_field(header)
            how = "guessed" if field else ""
        if field in taken:
            field, how = "", ""
        if field and field != IGNORE:
            taken.add(field)
        out.append(ColumnChoice(header, field, how))
    return out


def mapping_from_choices(choices: list[ColumnChoice]) -> dict[str, str]:
    """The import's column overrides ({header: field or "-"}) for the chosen fields."""
    return {c.header: c.field or IGNORE for c in choices if c.header.strip()}
