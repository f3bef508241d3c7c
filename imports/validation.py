"""Checking each import row (required cells, lengths, choices, owner, categories, coordinates,
duplicates of an external id earlier in the file) into an `ImportRow` or reasons."""

from __future__ import annotations

import logging
import re
import zlib
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _

from addresses.choices import AddressKind
from addresses.models import AddressCategory
from customers.choices import CustomerKind, RelationshipStage
from geo.choices import GeocodePrecision
from geo.models import Region
from imports.columns import CUSTOMER_FIELDS, FIELD_LABELS, ColumnMap
from imports.reading import formula_unescape

logger = logging.getLogger(__name__)

SPLIT_CATEGORIES_RE = re.compile(r"[|;,、，；]")

_CHOICE_SYNONYMS = {
    "kind": {
        "个人": CustomerKind.INDIVIDUAL,
        "企业": CustomerKind.ENTERPRISE,
        "公司": CustomerKind.ENTERPRISE,
    },
    "stage": {
        "潜在": RelationshipStage.POTENTIAL,
        "潜在客户": RelationshipStage.POTENTIAL,
        "新": RelationshipStage.NEW,
        "新客户": RelationshipStage.NEW,
        "现有": RelationshipStage.EXISTING,
        "老客户": RelationshipStage.EXISTING,
        "现有客户": RelationshipStage.EXISTING,
        "流失": RelationshipStage.CHURNED,
        "已流失": RelationshipStage.CHURNED,
    },
    "address_kind": {
        "注册地址": AddressKind.REGISTERED,
        "注册": AddressKind.REGISTERED,
        "账单地址": AddressKind.BILLING,
        "开票地址": AddressKind.BILLING,
        "账单": AddressKind.BILLING,
        "开票": AddressKind.BILLING,
        "收货地址": AddressKind.DELIVERY,
        "收货": AddressKind.DELIVERY,
        "送货地址": AddressKind.DELIVERY,
        "送货": AddressKind.DELIVERY,
        "家庭地址": AddressKind.HOME,
        "家庭": AddressKind.HOME,
        "住宅": AddressKind.HOME,
        "其他": AddressKind.OTHER,
        "其它": AddressKind.OTHER,
    },
}
_CHOICES = {
    "kind": CustomerKind,
    "stage": RelationshipStage,
    "address_kind": AddressKind,
    "precision": GeocodePrecision,
}
_LEVELS = {"country": 0, "province": 1, "city": 2, "district": 3}


def choices_text(choices) -> str:
    """A choice set as an uploader may write it: the label in the active language and the
    value ("企业 (enterprise), 个人 (individual)"); either is accepted."""
    return ", ".join(f"{label} ({value})" for value, label in choices.choices)


_KIND_BIT = {k: 1 << i for i, k in enumerate(AddressKind.values)}


# -- row validation ----------------------------------------------------------


@dataclass(slots=True)
class ImportRow:
    row_no: int
    external_id: str
    customer: dict
    address_kind: str
    address: dict | None
    cells: list[str]
    repeat: bool = False  # the external id is on an earlier row (another address kind)


class _Lookups:
    """Owners, categories and region names, read once per import."""

    def __init__(self):
        User = get_user_model()
        self.owners = {}
        for pk, username, email in User.objects.values_list("pk", "username", "email"):
            self.owners[username.casefold()] = pk
            if email:
                self.owners.setdefault(email.casefold(), pk)
        self.categories = {n.casefold(): pk for pk, n in AddressCategory.objects.values_list("pk", "name")}
        self.codes = set()
        self.names: dict[tuple[str, str], str] = {}  # (parent code, name) -> code
        self.parent: dict[str, str] = {}
        rows = Region.objects.filter(is_active=True).values_list(
            "code", "parent__code", "name", "short_name", "name_en", "aliases", "level"
        )
        self.levels = {}
        for code, parent, name, short, name_en, aliases, level in rows.iterator(chunk_size=5000):
            self.codes.add(code)
            self.parent[code] = parent or ""
            self.levels[code] = level
            for n in (name, short, name_en, code, *(aliases or ())):
                if n:
                    self.names.setdefault((parent or "", n.casefold()), code)
        self.cities: dict[str, list[str]] = {}
        for code, level in self.levels.items():
            if level == "city":
                self.cities.setdefault(self.parent[code], []).append(code)

    def region(self, name: str, parents: list[str]) -> str | None:
        """Code of the region called `name` under the nearest given parent (or anywhere at top)."""
        key = name.casefold()
        if name in self.codes:
            return name
        for parent in parents:
            code = self.names.get((parent, key))
            if code:
                return code
        # a level skipped: a district named under its province (its city left out)
        for parent in parents[:1]:
            for child_parent in self.cities.get(parent, ()):
                code = self.names.get((child_parent, key))
                if code:
                    return code
        return None


_NUMBER_RE = re.compile(r"^[+-]?\d+(\.\d+)?$")


class RowValidator:
    """Turns the cells of one row into an ImportRow, or a list of (column, reason)."""

    def __init__(self, columns: ColumnMap, headers: list[str], *, crs: str, lookups: _Lookups | None = None):
        self.columns = columns
        self.headers = headers
        self.crs = crs
        self.lookups = lookups or _Lookups()
        self.customer_fields = [CUSTOMER_FIELDS[f] for f in CUSTOMER_FIELDS if columns.has(f)]
        self._cn = "CN"
        self._region_cache: dict[tuple, str | None] = {}
        # Each choice by its value and its label in the active language, casefolded: built once,
        # not a translated label per row and column.
        self._choices = {
            f: {
                key: choice
                for choice, label in reversed(c.choices)
                for key in (str(label).casefold(), choice)
            }
            for f, c in _CHOICES.items()
        }

    def column(self, name: str) -> str:
        i = self.columns.index.get(name)
        return self.headers[i] if i is not None else FIELD_LABELS.get(name, name)

    def validate(self, row_no: int, cells: list[str]) -> tuple[ImportRow | None, list[tuple[str, str]]]:
        idx = self.columns.index
        v = {f: formula_unescape(cells[i].strip()) for f, i in idx.items() if i < len(cells)}
        errors: list[tuple[str, str]] = []

        def err(f, message):
            errors.append((self.column(f), message))

        ext = v.get("external_id", "")
        if not ext:
            err("external_id", _("An external id is required (it makes re-running a file safe)."))
        elif len(ext) > 100:
            err("external_id", _("At most 100 characters."))
        name = v.get("name", "")
        if not name:
            err("name", _("The customer name is required."))
        elif len(name) > 200:
            err("name", _("At most 200 characters."))
        customer = {"external_id": ext, "name": name}
        for f in ("kind", "stage"):
            if f in v:
                value = self._choice(f, v[f])
                if value is None:
                    err(
                        f,
                        _("Unknown value “%(value)s”; use one of: %(choices)s.")
                        % {"value": v[f], "choices": choices_text(_CHOICES[f])},
                    )
                customer[f] = value
        if "owner" in v:
            if v["owner"]:
                owner = self.lookups.owners.get(v["owner"].casefold())
                if owner is None:
                    err(
                        "owner",
                        _("Unknown owner “%(owner)s” (no user with this username).") % {"owner": v["owner"]},
                    )
                customer["owner_id"] = owner
            else:
                customer["owner_id"] = None
        if "phone" in v:
            if len(v["phone"]) > 40:
                err("phone", _("At most 40 characters."))
            customer["phone"] = v["phone"]
        if "email" in v:
            if v["email"]:
                try:
                    validate_email(v["email"])
                except ValidationError:
                    err("email", _("“%(email)s” is not an email address.") % {"email": v["email"]})
            customer["email"] = v["email"]

        address_kind = AddressKind.DELIVERY
        if v.get("address_kind"):
            address_kind = self._choice("address_kind", v["address_kind"])
            if address_kind is None:
                err(
                    "address_kind",
                    _("Unknown address kind “%(value)s”; use one of: %(choices)s.")
                    % {"value": v["address_kind"], "choices": choices_text(AddressKind)},
                )
        address = self._address(v, err)
        if errors:
            return None, errors
        return ImportRow(row_no, ext, customer, address_kind, address, cells), []

    def _choice(self, f: str, value: str):
        if not value:
            return _CHOICES[f].values[0] if f != "address_kind" else AddressKind.DELIVERY
        choice = self._choices[f].get(value.casefold())
        return choice if choice is not None else _CHOICE_SYNONYMS.get(f, {}).get(value)

    def _address(self, v: dict, err) -> dict | None:
        """The address fields of a row for the write path; None for a customer without one."""
        text = v.get("address", "")
        structured = {f: v.get(f, "") for f in ("country", "province", "city", "district")}
        out, complete = self._address_regions(v, structured, err)
        if not complete:
            return out
        if text:
            out["raw_text"] = text
        if "detail" in v:
            out["detail"] = v["detail"]
        elif text and any(k.endswith("_code") for k in out):
            detail = text
            for name in (structured["province"], structured["city"], structured["district"]):
                if name and detail.startswith(name):
                    detail = detail[len(name) :]
            out["detail"] = detail
        if "postcode" in v:
            out["postcode"] = v["postcode"]
        if not text and not any(k.endswith("_code") for k in out) and not out.get("detail"):
            if v.get("lat") or v.get("lng") or v.get("categories"):
                err("address", _("Enter an address (free text, or province / city / district)."))
            return None  # a customer without an address (as exported)
        out.update(self._address_location(v, err))
        if "categories" in v:
            out["category_ids"] = self._category_ids(v["categories"], err)
        return out

    def _address_regions(self, v: dict, structured: dict, err) -> tuple[dict, bool]:
        """The region codes of a row (a region code, or country › province › city › district
        names resolved level by level); False when a name is not a place (the row is rejected)."""
        out: dict = {}
        region_code = v.get("region_code", "")
        if region_code:
            if region_code not in self.lookups.codes:
                err("region_code", _("Unknown region code “%(code)s”.") % {"code": region_code})
            out["region_code"] = region_code
            return out, True
        if not any(structured.values()):
            return out, True
        country = ""
        if structured["country"]:
            country = self.lookups.region(structured["country"], [""]) or ""
            if not country:
                err("country", _("Unknown country “%(name)s”.") % {"name": structured["country"]})
                return out, False
            out["country_code"] = country
        parents = [country or "CN"]
        for f in ("province", "city", "district"):
            name = structured[f]
            if not name:
                continue
            code = self._region_under(name, parents)
            if code is None:
                err(f, self._not_a_place(f, name, structured))
                return out, False
            out[f"{f}_code"] = code
            parents.append(code)
        return out, True

    def _region_under(self, name: str, parents: list[str]) -> str | None:
        key = (tuple(parents), name)
        if key not in self._region_cache:
            self._region_cache[key] = self.lookups.region(name, list(reversed(parents)))
        return self._region_cache[key]

    def _not_a_place(self, f: str, name: str, structured: dict) -> str:
        given = [structured[g] for g in ("country", "province", "city", "district")[: _LEVELS[f]]]
        given = [g for g in given if g]
        if given:
            return _("“%(name)s” (column “%(column)s”) is not a place in %(parent)s.") % {
                "name": name,
                "column": self.column(f),
                "parent": " ".join(given),
            }
        return _("“%(name)s” (column “%(column)s”) is not a known place.") % {
            "name": name,
            "column": self.column(f),
        }

    def _address_location(self, v: dict, err) -> dict:
        """Coordinates given in the row (in the file's datum), with their precision and source."""
        out: dict = {}
        lat, lng = v.get("lat", ""), v.get("lng", "")
        if lat or lng:
            point = self._point(lat, lng, err)
            if point is not None:
                out["lat"], out["lng"] = point
                out["crs"] = self.crs
                if v.get("precision"):
                    if v["precision"] not in GeocodePrecision.values:
                        err("precision", _("Unknown precision “%(value)s”.") % {"value": v["precision"]})
                    out["precision"] = v["precision"]
                if v.get("geocode_source"):
                    out["geocode_source"] = v["geocode_source"][:80]
        elif v.get("precision") == GeocodePrecision.NONE:
            out["precision"] = GeocodePrecision.NONE
        return out

    def _category_ids(self, cell: str, err) -> list[int]:
        ids = []
        for n in filter(None, (s.strip() for s in SPLIT_CATEGORIES_RE.split(cell))):
            pk = self.lookups.categories.get(n.casefold())
            if pk is None:
                err("categories", _("Unknown category “%(name)s” (create it first).") % {"name": n})
            else:
                ids.append(pk)
        return ids

    def _point(self, lat: str, lng: str, err):
        if not lat or not lng:
            err(
                "lat" if not lat else "lng",
                _("Give both “%(lat)s” and “%(lng)s”, or neither.")
                % {"lat": self.column("lat"), "lng": self.column("lng")},
            )
            return None
        try:
            la, ln = Decimal(lat.replace("，", ".")), Decimal(lng.replace("，", "."))
            if not (la.is_finite() and ln.is_finite()):
                raise InvalidOperation
        except InvalidOperation:
            err(
                "lat",
                _("Coordinates must be decimal degrees, got “%(lat)s”, “%(lng)s”.")
                % {"lat": lat, "lng": lng},
            )
            return None
        if abs(la) > 90 or abs(ln) > 180:
            if abs(la) > 1000 or abs(ln) > 1000:
                err(
                    "lat",
                    _(
                        "“%(lat)s, %(lng)s” look like projected metres (e.g. Web Mercator), not degrees; "
                        "give WGS-84, GCJ-02 or BD-09 degrees."
                    )
                    % {"lat": lat, "lng": lng},
                )
            elif abs(ln) <= 90 and abs(la) <= 180:
                err(
                    "lat",
                    _("Latitude %(lat)s is out of range (-90…90); latitude and longitude look swapped.")
                    % {"lat": lat},
                )
            else:  # each coordinate out of range is named
                if abs(la) > 90:
                    err("lat", _("Latitude %(lat)s is out of range (-90…90).") % {"lat": lat})
                if abs(ln) > 180:
                    err("lng", _("Longitude %(lng)s is out of range (-180…180).") % {"lng": lng})
            return None
        if la == 0 and ln == 0:
            err("lat", _("0, 0 is not a real location (an empty point written as zeros?)."))
            return None
        return str(la), str(ln)


def customer_hash(row: ImportRow) -> int:
    return zlib.crc32("\x1f".join(f"{k}={row.customer[k]}" for k in sorted(row.customer)).encode())


class DuplicateTracker:
    """External ids seen so far: the first row wins, later conflicting rows are rejected.

    One int per id (first row, address kinds seen, customer-details checksum) keeps a
    million ids in about 100 MB.
    """

    def __init__(self):
        self.seen: dict[str, int] = {}

    def check(self, row: ImportRow) -> str | None:
        h = customer_hash(row)
        bit = _KIND_BIT[row.address_kind]
        packed = self.seen.get(row.external_id)
        if packed is None:
            self.seen[row.external_id] = (row.row_no << 40) | (bit << 32) | h
            return None
        first, kinds, first_h = packed >> 40, (packed >> 32) & 0xFF, packed & 0xFFFFFFFF
        if kinds & bit:
            return _("Duplicate external id “%(id)s”: row %(first)s already has it (the first row wins).") % {
                "id": row.external_id,
                "first": first,
            }
        if first_h != h:
            return _(
                "External id “%(id)s” appears on row %(first)s with different customer details "
                "(the first row wins)."
            ) % {"id": row.external_id, "first": first}
        self.seen[row.external_id] = packed | (bit << 32)
        row.repeat = True
        return None
