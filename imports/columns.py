"""The import's columns: the fields a file may carry, the headers (Chinese or English) that name
them, `--map` overrides, and the template file to start from."""

from __future__ import annotations

import codecs
import csv
import io
import logging
import re
from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from imports.reading import ImportFileError

logger = logging.getLogger(__name__)

# field -> header names (compared case-insensitively, spaces and * ignored)
FIELD_HEADERS: dict[str, tuple[str, ...]] = {
    "external_id": ("外部编号", "外部id", "客户编号", "external_id", "externalid", "external id"),
    "name": ("客户名称", "客户名", "名称", "姓名", "name", "customer", "customer name"),
    "kind": ("类型", "客户类型", "kind", "customer kind"),
    "stage": ("阶段", "客户阶段", "stage"),
    "owner": ("负责人", "销售", "owner"),
    "phone": ("手机", "手机号", "电话", "phone", "mobile", "tel"),
    "email": ("邮箱", "电子邮件", "email", "e-mail"),
    "address_kind": ("地址类型", "address_kind", "address kind"),
    "address": ("地址", "address", "raw_text"),
    "country": ("国家", "country"),
    "province": ("省", "省份", "province", "state"),
    "city": ("市", "城市", "city"),
    "district": ("区", "区县", "县", "district", "county"),
    "detail": ("详细地址", "detail", "street"),
    "postcode": ("邮编", "邮政编码", "postcode", "zip", "postal code"),
    "region_code": ("区划代码", "region_code", "adcode"),
    "lng": ("经度", "lng", "lon", "longitude"),
    "lat": ("纬度", "lat", "latitude"),
    "precision": ("定位精度", "precision"),
    "geocode_source": ("定位来源", "geocode_source"),
    "categories": ("分类", "categories", "category"),
}
FIELDS = tuple(FIELD_HEADERS)
# What each field is called on the upload page's preview (the column mapping it shows).
FIELD_NAMES = {
    "external_id": gettext_lazy("External id"),
    "name": gettext_lazy("Customer name"),
    "kind": gettext_lazy("Customer kind"),
    "stage": gettext_lazy("Relationship stage"),
    "owner": gettext_lazy("Owner (username)"),
    "phone": gettext_lazy("Phone"),
    "email": gettext_lazy("Email"),
    "address_kind": gettext_lazy("Address kind"),
    "address": gettext_lazy("Address (free text, parsed)"),
    "country": gettext_lazy("Country"),
    "province": gettext_lazy("Province"),
    "city": gettext_lazy("City"),
    "district": gettext_lazy("District"),
    "detail": gettext_lazy("Detail line"),
    "postcode": gettext_lazy("Postcode"),
    "region_code": gettext_lazy("Region code"),
    "lng": gettext_lazy("Longitude"),
    "lat": gettext_lazy("Latitude"),
    "precision": gettext_lazy("Geocode precision"),
    "geocode_source": gettext_lazy("Geocode source"),
    "categories": gettext_lazy("Categories"),
}
ADDRESS_FIELDS = ("address", "country", "province", "city", "district", "detail", "region_code")
CUSTOMER_FIELDS = {
    "name": "name",
    "kind": "kind",
    "stage": "stage",
    "owner": "owner_id",
    "phone": "phone",
    "email": "email",
}
FIELD_LABELS = {f: h[0] for f, h in FIELD_HEADERS.items()}


# -- headers -----------------------------------------------------------------


def norm_header(text: str) -> str:
    return re.sub(r"[\s*_（）()]+", "", text.replace("\ufeff", "")).casefold()


_HEADER_LOOKUP = {norm_header(h): f for f, names in FIELD_HEADERS.items() for h in names}


def parse_mapping(pairs: list[str] | None) -> dict[str, str]:
    """`["列名=field", ...]` → {column header: field}; raises ImportFileError on unknown fields."""
    out = {}
    for pair in pairs or ():
        column, sep, fieldname = pair.rpartition("=")
        if not sep or not column.strip():
            raise ImportFileError(_("--map takes COLUMN=FIELD, not “%(pair)s”.") % {"pair": pair})
        fieldname = fieldname.strip()
        if fieldname not in FIELD_HEADERS and fieldname not in ("", "-"):
            raise ImportFileError(
                _("Unknown field “%(field)s” in --map; fields are: %(fields)s.")
                % {"field": fieldname, "fields": ", ".join(FIELDS)}
            )
        out[column.strip()] = fieldname
    return out


@dataclass
class ColumnMap:
    index: dict[str, int]
    ignored: list[str]

    def has(self, name: str) -> bool:
        return name in self.index


def map_columns(headers: list[str], overrides: dict[str, str] | None = None) -> ColumnMap:
    """Which column holds which field; raises ImportFileError when required ones are missing."""
    overrides = {norm_header(k): v for k, v in (overrides or {}).items()}
    index: dict[str, int] = {}
    ignored = []
    for i, header in enumerate(headers):
        key = norm_header(header)
        target = overrides.get(key, _HEADER_LOOKUP.get(key))
        if not target or target == "-" or target in index:
            if header.strip():
                ignored.append(header)
            continue
        index[target] = i
    missing = [f for f in ("external_id", "name") if f not in index]
    if missing:
        raise ImportFileError(
            _(
                "Required columns are missing: %(missing)s. The header row has: %(headers)s. "
                "Name them (e.g. 外部编号 / external_id, 客户名称 / name) or map them with --map COLUMN=FIELD."
            )
            % {
                "missing": ", ".join(f"{FIELD_LABELS[m]} / {m}" for m in missing),
                "headers": ", ".join(h for h in headers if h.strip()) or _("(nothing)"),
            }
        )
    if not any(f in index for f in ADDRESS_FIELDS):
        raise ImportFileError(
            _(
                "No address column: give 地址 / address (free text) or 省 / 市 / 区 (province / city / district)."
            )
        )
    if ("lat" in index) != ("lng" in index):
        raise ImportFileError(_("Give both 经度 / lng and 纬度 / lat columns, or neither."))
    return ColumnMap(index, ignored)


TEMPLATE_EXAMPLE = {
    "external_id": "C0001",
    "name": "深圳示例科技有限公司",
    "kind": "企业",
    "stage": "潜在",
    "owner": "",
    "phone": "13800138000",
    "email": "info@example.com",
    "address": "广东省深圳市南山区科技园南区深南大道9988号",
    "postcode": "518057",
    "lng": "",
    "lat": "",
    "categories": "",
}


def template_csv() -> bytes:
    """TEMPLATE_EXAMPLE as CSV, UTF-8 with a BOM (Excel then reads the Chinese headers)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([FIELD_LABELS[f] for f in TEMPLATE_EXAMPLE])
    writer.writerow(TEMPLATE_EXAMPLE.values())
    return codecs.BOM_UTF8 + buf.getvalue().encode("utf-8")
