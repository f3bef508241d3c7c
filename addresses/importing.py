"""Bulk import of customers and their addresses from CSV or XLSX files.

One pipeline for `manage.py import_customers` and the upload page:

1. read: CSV (UTF-8, UTF-8 with BOM, GBK/GB18030, detected) or XLSX (addresses.xlsx_reader,
   zip-bomb checked); rows stream, memory stays flat;
2. map headers (Chinese or English names, `--map` overrides) to fields;
3. validate each row (required cells, lengths, owner, categories, coordinates,
   duplicates of an external id earlier in the file);
4. write batches, each in its own transaction, through `customers_upsert` and
   `addresses_save` (the one write path); the batch's checkpoint commits with it;
5. report every rejected row (row number, column, reason, original values) in a
   UTF-8-with-BOM CSV, formula-escaped.

Rules (also in README):
- `external_id` is required on every row: it is what makes a re-run safe (upsert).
- A row is one customer and one address of a kind (`地址类型`, default delivery).
  The same external id may appear again only for another address kind with the
  same customer details; otherwise the later row is rejected (the first wins).
- Text starting with = + - @ is stored as text, never evaluated; exports and
  reports escape it with a leading apostrophe, which the import strips again.
- A file with more than IMPORT_MAX_ROWS rows (default 1,000,000; `--max-rows`)
  is refused before anything is written.
"""

from __future__ import annotations

import codecs
import csv
import dataclasses
import gc
import hashlib
import heapq
import io
import logging
import os
import re
import threading
import time
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import connections, transaction
from django.db.models import Sum
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from addresses.choices import AddressKind, Channel
from addresses.clustering import map_cells_batched
from addresses.models import Address, AddressCategory, ImportCheckpoint, ImportJob, ImportStatus
from addresses.services import AddressInput, addresses_save
from addresses.xlsx_reader import XlsxError, first_worksheet
from crm.db.batch_lookup import in_values
from customers.choices import CustomerKind, RelationshipStage
from customers.services import customers_upsert
from geo.choices import LOCATED_GROUP, CoordinateSystem, GeocodePrecision
from geo.models import Region

logger = logging.getLogger(__name__)

MAX_ROWS = getattr(settings, "IMPORT_MAX_ROWS", 1_000_000)
MAX_CELL_CHARS = getattr(settings, "IMPORT_MAX_CELL_CHARS", 4096)
FIRST_ERRORS = 20  # rejected rows shown on the page (all of them are in the report)
# Rows per transaction and checkpoint: the map cells are upserted once per batch, and a
# batch of a 30-character-address file touches most cells of the grid whatever its size.
BATCH_SIZE = getattr(settings, "IMPORT_BATCH_SIZE", 100_000)
CHUNK_SIZE = getattr(settings, "IMPORT_CHUNK_SIZE", 20_000)  # rows in memory at once


def default_batch_size(rows: int) -> int:
    """A tenth of the file, between CHUNK_SIZE and BATCH_SIZE rows: progress (committed with each
    batch) moves at least ten times, and a big file pays for few map-cell upserts."""
    return max(CHUNK_SIZE, min(BATCH_SIZE, rows // 10))


MAX_XLSX_UNCOMPRESSED = getattr(settings, "IMPORT_MAX_XLSX_UNCOMPRESSED", 2 * 1024**3)
MAX_XLSX_RATIO = 150  # real sheets compress 5-30x; a bomb compresses 1000x
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_SURROGATE_RE = re.compile("[\udc80-\udcff]")
_SPLIT_CATEGORIES_RE = re.compile(r"[|;,、，；]")

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
        "收货地址": AddressKind.DELIVERY,
        "送货地址": AddressKind.DELIVERY,
        "送货": AddressKind.DELIVERY,
        "家庭地址": AddressKind.HOME,
        "家庭": AddressKind.HOME,
        "其他": AddressKind.OTHER,
    },
}
_CHOICES = {
    "kind": CustomerKind,
    "stage": RelationshipStage,
    "address_kind": AddressKind,
    "precision": GeocodePrecision,
}
_KIND_BIT = {k: 1 << i for i, k in enumerate(AddressKind.values)}


class ImportFileError(Exception):
    """The file as a whole cannot be imported (nothing was written)."""


_PLAIN_NUMBER_RE = re.compile(r"^[+-]?\d+(\.\d+)?$")


def formula_escape(value):
    """Text that a spreadsheet would run as a formula, made inert with a leading apostrophe.

    Plain signed numbers (-73.5, +8613800138000) are left alone: they evaluate to themselves.
    """
    if isinstance(value, str) and value.startswith(FORMULA_START) and not _PLAIN_NUMBER_RE.match(value):
        return "'" + value
    return value


def _unescape(value: str) -> str:
    """Undo `formula_escape` (so export → import is a round trip)."""
    if len(value) > 1 and value[0] == "'" and value[1] in "=+-@\t\r":
        return value[1:]
    return value


# -- reading ---------------------------------------------------------------


def detect_encoding(path: str | Path, sample_bytes: int = 1 << 20) -> str:
    """'utf-8-sig', 'utf-8' or 'gb18030' (which reads GBK), voting line by line over a sample.

    Lines that are valid UTF-8 with non-ASCII characters vote UTF-8, lines that are not
    vote GB18030; a mixed file reads as its majority and the other lines are rejected.
    """
    with open(path, "rb") as f:
        sample = f.read(sample_bytes)
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    utf8 = other = 0
    lines = sample.split(b"\n")
    if len(sample) == sample_bytes and len(lines) > 1:
        lines = lines[:-1]  # cut mid-line
    for line in lines:
        if line.isascii():
            continue
        try:
            line.decode("utf-8")
            utf8 += 1
        except UnicodeDecodeError:
            other += 1
    return "utf-8" if utf8 >= other else "gb18030"


@dataclass(frozen=True)
class Share:
    """Writer `worker` of `workers`: the rows whose external id (cells[column]) hashes to it.

    A file's rows with one external id all land with one writer, so the duplicate rule and
    the upsert never span two processes.
    """

    worker: int
    workers: int
    column: int

    def owns(self, external_id: str) -> bool:
        key = _unescape(external_id.strip()).encode("utf-8", "replace")
        return zlib.crc32(key) % self.workers == self.worker

    def owns_row(self, cells: list[str] | None) -> bool:
        return self.owns(cells[self.column] if cells and self.column < len(cells) else "")


@dataclass
class Table:
    """An opened import file: its header and a stream of (row number, cells, problem)."""

    path: Path
    format: str
    encoding: str | None
    headers: list[str]
    estimated_rows: int
    delimiter: str = ","
    header_row: int = 1  # an XLSX sheet's first row present, which may lie below row 1

    def rows(self, share: Share | None = None) -> Iterator[tuple[int, list[str] | None, str | None]]:
        """Data rows numbered as a spreadsheet shows them (the header is row 1, or an XLSX
        sheet's `header_row`); with `share`, only that writer's."""
        if self.format == "xlsx":
            return self._xlsx_rows(share)
        if share is None:
            return self._csv_rows()
        return (row for row in self._csv_rows() if share.owns_row(row[1]))

    def _csv_rows(self):
        csv.field_size_limit(MAX_CELL_CHARS)
        with open(self.path, encoding=self.encoding, errors="surrogateescape", newline="") as f:
            reader = csv.reader(f, delimiter=self.delimiter)
            row_no = 0
            width = len(self.headers)
            gbk = self.encoding == "gb18030"
            while True:
                row_no += 1
                try:
                    cells = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:
                    if "field larger" in str(exc):
                        yield (
                            row_no,
                            None,
                            _("A cell is longer than %(n)s characters.") % {"n": MAX_CELL_CHARS},
                        )
                    else:
                        yield row_no, None, _("The row cannot be read as CSV (%(error)s).") % {"error": exc}
                    continue
                if row_no == 1:
                    continue
                joined = " ".join(cells)  # one C-level scan of the row, not one per cell
                if not joined.strip():
                    continue  # blank line
                if _SURROGATE_RE.search(joined):
                    yield (
                        row_no,
                        _foreign_cells(cells, self.encoding),
                        _(
                            "The row has bytes that are not valid %(encoding)s (the file mixes text encodings); "
                            "save it again as UTF-8."
                        )
                        % {"encoding": _encoding_label(self.encoding)},
                    )
                    continue
                if gbk and (as_utf8 := _utf8_in_gbk(cells)) is not None:
                    yield (
                        row_no,
                        as_utf8,
                        _(
                            "The row is UTF-8 text in a GB18030/GBK file (the file mixes text encodings); "
                            "save it again as UTF-8."
                        ),
                    )
                    continue
                if len(cells) != width:
                    extra = cells[width:]
                    if len(cells) > width and not any(c.strip() for c in extra):
                        cells = cells[:width]
                    else:
                        yield (
                            row_no,
                            cells,
                            _("The row has %(n)s cells but the header has %(m)s.")
                            % {"n": len(cells), "m": width},
                        )
                        continue
                yield row_no, cells, None

    def _xlsx_rows(self, share: Share | None):
        sheet = first_worksheet(self.path, max_chars=MAX_CELL_CHARS)
        width = len(self.headers)
        row_no = self.header_row
        # Another writer's rows are passed over as soon as their external id is read; the
        # reader asks about each row once, so each row lands with exactly one writer.
        if share is None:
            values_of = sheet.rows()
        else:
            values_of = sheet.rows(share.column, lambda value: share.owns(_xlsx_text(value)))
        while True:
            try:
                row_no, values, problem = next(values_of)
            except StopIteration:
                return
            except XlsxError as exc:
                # Nothing after the break can be read: one rejected line says so, every row
                # before it is kept.
                if share is None or share.owns(""):
                    yield (
                        row_no + 1,
                        None,
                        _("The sheet cannot be read from this row on (%(error)s); no later row was imported.")
                        % {"error": exc},
                    )
                return
            if row_no <= self.header_row:
                continue
            cells = [_xlsx_text(v) for v in values]
            if problem is not None:
                yield row_no, cells, _("A cell of this row cannot be read (%(error)s).") % {"error": problem}
                continue
            if not any(c.strip() for c in cells):
                continue
            if len(cells) > width:
                if any(c.strip() for c in cells[width:]):
                    yield (
                        row_no,
                        cells,
                        _("The row has %(n)s cells but the header has %(m)s.")
                        % {"n": len(cells), "m": width},
                    )
                    continue
                cells = cells[:width]
            cells += [""] * (width - len(cells))
            too_long = next((c for c in cells if len(c) > MAX_CELL_CHARS), None)
            if too_long is not None:
                yield (
                    row_no,
                    [c[:200] for c in cells],
                    _("A cell is longer than %(n)s characters.") % {"n": MAX_CELL_CHARS},
                )
                continue
            yield row_no, cells, None


def _utf8_in_gbk(cells: list[str]) -> list[str] | None:
    """The cells of a line of a GB18030 file as UTF-8, if the line is UTF-8 text that also
    happens to be valid GB18030 (about half of UTF-8 Chinese lines are: they would import as
    mojibake), else None.

    A line counts as UTF-8 when its bytes decode as UTF-8 to at least three characters from
    U+0800 up (each Chinese character is one): GBK text does that by chance for none of
    300,000 random lines of three to six GBK characters, against 2 in 10,000 for two such
    characters (measured).
    """
    if all(c.isascii() for c in cells):
        return None
    try:
        as_utf8 = [c.encode("gb18030").decode("utf-8") for c in cells]
    except UnicodeError:
        return None
    return as_utf8 if sum(ord(ch) >= 0x800 for c in as_utf8 for ch in c) >= 3 else None


def _foreign_cells(cells: list[str], encoding: str) -> list[str]:
    """The cells of a line that is not valid `encoding`, readable for the report: decoded as
    the other encoding the file could be in (a GBK line in a UTF-8 file, or the reverse) if
    the line is valid in it, else with the bad bytes shown as �."""
    read_as = "utf-8" if encoding.startswith("utf-8") else encoding
    other = "gb18030" if read_as == "utf-8" else "utf-8"
    try:
        return [c.encode(read_as, "surrogateescape").decode(other) for c in cells]
    except UnicodeError:
        return [_SURROGATE_RE.sub("\ufffd", c) for c in cells]


def _encoding_label(encoding: str | None) -> str:
    return {"utf-8-sig": "UTF-8", "utf-8": "UTF-8", "gb18030": "GB18030/GBK"}.get(
        encoding or "", encoding or ""
    )


def _xlsx_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))  # phone numbers and ids typed as numbers
    return str(value)


def _check_xlsx(path: Path) -> None:
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            names = {i.filename for i in infos}
    except (zipfile.BadZipFile, OSError) as exc:
        raise ImportFileError(_("This is not an Excel .xlsx file (%(error)s).") % {"error": exc}) from exc
    if "xl/workbook.xml" not in names:
        raise ImportFileError(_("This is a zip archive but not an Excel .xlsx workbook."))
    total = sum(i.file_size for i in infos)
    for info in infos:
        if info.file_size > 10 * 1024**2 and info.file_size > MAX_XLSX_RATIO * max(info.compress_size, 1):
            raise ImportFileError(
                _("The workbook expands %(ratio)s times (%(name)s); it looks like a zip bomb and is refused.")
                % {"ratio": info.file_size // max(info.compress_size, 1), "name": info.filename}
            )
    if total > MAX_XLSX_UNCOMPRESSED:
        raise ImportFileError(
            _("The workbook unpacks to %(size)s MB, more than the %(limit)s MB allowed.")
            % {"size": total // 1024**2, "limit": MAX_XLSX_UNCOMPRESSED // 1024**2}
        )


def _count_lines(path: Path) -> int:
    n, last = 0, b"\n"
    with open(path, "rb") as f:
        while chunk := f.read(1 << 22):
            n += chunk.count(b"\n")
            last = chunk[-1:]
    return n + (last != b"\n")


def open_table(path: str | Path, *, max_rows: int | None = MAX_ROWS) -> Table:
    """Open and check an import file; raises ImportFileError with a clear message."""
    path = Path(path)
    if not path.exists():
        raise ImportFileError(_("There is no file %(path)s.") % {"path": path})
    size = path.stat().st_size
    if size == 0:
        raise ImportFileError(_("The file is empty."))
    with open(path, "rb") as f:
        magic = f.read(8)
    if magic.startswith(b"PK\x03\x04") or path.suffix.lower() in (".xlsx", ".xlsm"):
        return _open_xlsx(path, max_rows)
    if magic.startswith(b"\xd0\xcf\x11\xe0"):
        raise ImportFileError(_("This is an old Excel .xls file; save it as .xlsx or CSV."))
    encoding = detect_encoding(path)
    with open(path, encoding=encoding, errors="replace", newline="") as f:
        first = f.readline(MAX_CELL_CHARS * 8)
    if not first.strip():
        raise ImportFileError(_("The file is empty."))
    if "\ufffd" in first:  # the header is in the minority encoding of a mixed file
        raise ImportFileError(
            _(
                "The header row is not valid %(encoding)s, the text encoding of most of the file "
                "(the file mixes text encodings); save it again as UTF-8."
            )
            % {"encoding": _encoding_label(encoding)}
        )
    delimiter = max((",", ";", "\t"), key=first.count)
    headers = next(csv.reader([first], delimiter=delimiter))
    lines = _count_lines(path)
    table = Table(path, "csv", encoding, headers, max(0, lines - 1), delimiter)
    if max_rows and lines - 1 > max_rows:
        # Lines over-count rows only when cells hold line breaks: count records exactly.
        records = sum(1 for _r in table.rows())
        if records > max_rows:
            raise _too_many(records, max_rows)
        table.estimated_rows = records
    return table


def _too_many(rows: int, max_rows: int) -> ImportFileError:
    return ImportFileError(
        _(
            "The file has %(rows)s rows; at most %(max)s rows are imported at once. Split it into smaller files "
            "(or raise IMPORT_MAX_ROWS / --max-rows)."
        )
        % {"rows": f"{rows:,}", "max": f"{max_rows:,}"}
    )


def _open_xlsx(path: Path, max_rows: int | None) -> Table:
    _check_xlsx(path)
    try:
        sheet = first_worksheet(path, max_chars=MAX_CELL_CHARS)
        rows = sheet.rows()
        header_row, first, _problem = next(rows, (1, [], None))
        headers = [_xlsx_text(v) for v in first]
        while headers and not headers[-1].strip():
            headers.pop()
        last = sheet.dimension_rows()
        estimated = last - header_row if last is not None else 0
        if not 1 < estimated <= (max_rows or estimated):
            # Workbooks written by scripts often carry no dimension, and some state the whole
            # sheet's (1,048,576 rows): count the <row> tags instead (seconds for a million).
            estimated = max(0, sheet.count_rows() - 1)
        if max_rows and estimated > max_rows:
            # The tags count empty rows too: count the rows with cells, up to one past the limit.
            estimated = 0
            try:
                for _i, (_n, values, _p) in zip(range(max_rows + 1), rows):
                    estimated += any(v not in (None, "") for v in values)
            except XlsxError:
                estimated += 1  # the rows before a break import; the break is a rejected line
    except XlsxError as exc:
        raise ImportFileError(_("The Excel file cannot be read (%(error)s).") % {"error": exc}) from exc
    if not headers:
        raise ImportFileError(_("The file is empty."))
    if max_rows and estimated > max_rows:
        raise _too_many(estimated, max_rows)
    return Table(path, "xlsx", None, headers, estimated, header_row=header_row)


# -- headers -----------------------------------------------------------------


def _norm_header(text: str) -> str:
    return re.sub(r"[\s*_（）()]+", "", text.replace("\ufeff", "")).casefold()


_HEADER_LOOKUP = {_norm_header(h): f for f, names in FIELD_HEADERS.items() for h in names}


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
    overrides = {_norm_header(k): v for k, v in (overrides or {}).items()}
    index: dict[str, int] = {}
    ignored = []
    for i, header in enumerate(headers):
        key = _norm_header(header)
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
        v = {f: _unescape(cells[i].strip()) for f, i in idx.items() if i < len(cells)}
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
                        % {"value": v[f], "choices": ", ".join(_CHOICES[f].values)},
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
                err("address_kind", _("Unknown address kind “%(value)s”.") % {"value": v["address_kind"]})
        address = self._address(v, err)
        if errors:
            return None, errors
        return ImportRow(row_no, ext, customer, address_kind, address, cells), []

    def _choice(self, f: str, value: str):
        if not value:
            return _CHOICES[f].values[0] if f != "address_kind" else AddressKind.DELIVERY
        choice = self._choices[f].get(value.casefold())
        return choice if choice is not None else _CHOICE_SYNONYMS.get(f, {}).get(value)

    def _address(self, v: dict, err) -> dict:
        out: dict = {}
        text = v.get("address", "")
        structured = {f: v.get(f, "") for f in ("country", "province", "city", "district")}
        region_code = v.get("region_code", "")
        if region_code:
            if region_code not in self.lookups.codes:
                err("region_code", _("Unknown region code “%(code)s”.") % {"code": region_code})
            out["region_code"] = region_code
        elif any(structured.values()):
            parents = [""]
            country = ""
            if structured["country"]:
                country = self.lookups.region(structured["country"], [""]) or ""
                if not country:
                    err("country", _("Unknown country “%(name)s”.") % {"name": structured["country"]})
                    return out
                out["country_code"] = country
            parents = [country or "CN"]
            for f in ("province", "city", "district"):
                name = structured[f]
                if not name:
                    continue
                key = (tuple(parents), name)
                code = self._region_cache.get(key)
                if key not in self._region_cache:
                    code = self.lookups.region(name, list(reversed(parents)))
                    self._region_cache[key] = code
                if code is None:
                    err(
                        f,
                        _("“%(name)s” is not a %(level)s in %(parent)s.")
                        % {"name": name, "level": f, "parent": " ".join(p for p in parents if p)},
                    )
                    return out
                out[f"{f}_code"] = code
                parents.append(code)
        if text:
            out["raw_text"] = text
        if "detail" in v:
            out["detail"] = v["detail"]
        elif text and ("region_code" in out or any(k.endswith("_code") for k in out)):
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
        if "categories" in v:
            ids = []
            for n in filter(None, (s.strip() for s in _SPLIT_CATEGORIES_RE.split(v["categories"]))):
                pk = self.lookups.categories.get(n.casefold())
                if pk is None:
                    err("categories", _("Unknown category “%(name)s” (create it first).") % {"name": n})
                else:
                    ids.append(pk)
            out["category_ids"] = ids
        return out

    def _point(self, lat: str, lng: str, err):
        if not lat or not lng:
            err("lat" if not lat else "lng", _("Give both latitude and longitude, or neither."))
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


# -- writing -------------------------------------------------------------------


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    # Addresses of the accepted rows per LOCATED_GROUPS group ("precise", "coarse", "none").
    located: dict[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, checkpoint: ImportCheckpoint) -> Counts:
        return cls(
            checkpoint.created,
            checkpoint.updated,
            checkpoint.unchanged,
            checkpoint.rejected,
            dict(checkpoint.located or {}),
        )

    def add(self, other: Counts):
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.rejected += other.rejected
        for group, n in other.located.items():
            self.located[group] = self.located.get(group, 0) + n

    @property
    def rows(self) -> int:
        return self.created + self.updated + self.unchanged + self.rejected


def _format_errors(errors: dict[str, list[str]]) -> list[tuple[str, str]]:
    labels = {"raw_text": "address", "lat": "lat", "lng": "lng", "customer": "external_id"}
    out = []
    for f, messages in errors.items():
        for m in messages:
            out.append((FIELD_LABELS.get(labels.get(f, f), f), str(m)))
    return out


def write_batch(
    rows: list[ImportRow], *, customer_fields: list[str], actor=None, map_cells=None, dry_run=False
) -> tuple[Counts, list]:
    """Upsert the customers and addresses of `rows` (call inside a transaction).

    A row whose address is refused by the write path is dropped and the rest written
    again, so no customer is left without the address it came with. `map_cells` is the
    enclosing `map_cells_batched` block, if any (a retry drops the map changes it undoes).
    A `dry_run` takes the same steps through the services' dry runs: the same counts and
    rejects, nothing written.
    """
    rejects: list[tuple[int, list[str], list[tuple[str, str]]]] = []
    for _attempt in range(4):
        counts = Counts()
        sid = None if dry_run else transaction.savepoint_create()
        mark = map_cells.mark() if map_cells is not None else 0
        first: dict[str, int] = {}
        cust_rows = []
        for r in rows:
            if r.external_id not in first:
                first[r.external_id] = len(cust_rows)
                cust_rows.append(r.customer)
        upserted = customers_upsert(rows=cust_rows, fields=customer_fields, actor=actor, dry_run=dry_run)
        existing_ids = [pk for pk, status in upserted if status != "created"]
        current: dict[tuple[int, str], int] = {}
        if existing_ids:
            for pk, customer_id, kind in (
                Address.objects.filter(customer_id__in=in_values(existing_ids))
                .order_by("customer_id", "kind", "-is_primary", "id")
                .values_list("id", "customer_id", "kind")
            ):
                current.setdefault((customer_id, kind), pk)
        items = []
        positions = []  # row index of each item (rows without an address have none)
        for n, r in enumerate(rows):
            if r.address is None:
                continue
            positions.append(n)
            customer_id = upserted[first[r.external_id]][0]
            address_id = current.get((customer_id, r.address_kind))
            if address_id:  # the customer's address of this kind (its primary one first), flag kept
                items.append(AddressInput(address_id=address_id, kind=r.address_kind, **r.address))
            else:
                items.append(
                    AddressInput(customer_id=customer_id, kind=r.address_kind, is_primary=True, **r.address)
                )
        result = addresses_save(items=items, actor=actor, channel=Channel.IMPORT, dry_run=dry_run)
        if result.errors:
            if sid is not None:
                transaction.savepoint_rollback(sid)
            if map_cells is not None:
                map_cells.discard(mark)
            bad = {positions[i]: errors for i, errors in result.errors.items()}
            for n in sorted(bad):
                rejects.append((rows[n].row_no, rows[n].cells, _format_errors(bad[n])))
            rows = [r for n, r in enumerate(rows) if n not in bad]
            continue
        address_status = dict(zip(positions, result.statuses))
        if sid is not None:
            transaction.savepoint_commit(sid)
        seen_customer = set()
        for i, r in enumerate(rows):
            status = upserted[first[r.external_id]][1]
            if r.repeat or r.external_id in seen_customer:
                status = "unchanged"  # counted on the customer's first row in the file
            seen_customer.add(r.external_id)
            if "created" in (status, address_status.get(i)):
                counts.created += 1
            elif "updated" in (status, address_status.get(i)):
                counts.updated += 1
            else:
                counts.unchanged += 1
        for address in result.addresses:
            if address is not None:
                group = LOCATED_GROUP.get(address.precision, "none")
                counts.located[group] = counts.located.get(group, 0) + 1
        counts.rejected = len(rejects)
        return counts, rejects
    raise RuntimeError("the write path kept refusing rows")  # pragma: no cover


# A file to start from: the columns most files need (under their first header, which is
# also the export's), with one row that imports cleanly.
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


# -- the run -------------------------------------------------------------------


REPORT_HEADER_PREFIX = ["行号 row", "列 column", "原因 reason"]


def _report_line(row_no: int, cells: list[str] | None, errors: list[tuple[str, str]]) -> bytes:
    buf = io.StringIO()
    columns = "; ".join(dict.fromkeys(c for c, _m in errors))
    reasons = "; ".join(f"{c}: {m}" if c else m for c, m in errors)
    csv.writer(buf).writerow(
        [
            row_no,
            formula_escape(columns),
            formula_escape(reasons),
            *(formula_escape(c[:MAX_CELL_CHARS]) for c in (cells or [])),
        ]
    )
    return buf.getvalue().encode("utf-8", "replace")


@dataclass
class ImportResult:
    job: ImportJob
    counts: Counts
    seconds: float
    report_path: str | None
    resumed_from: int = 0
    ignored_columns: list[str] = field(default_factory=list)
    first_errors: list[dict] = field(default_factory=list)

    @property
    def rows_per_second(self) -> float:
        return self.counts.rows / self.seconds if self.seconds else 0.0

    def summary(self) -> str:
        c = self.counts
        text = _(
            "created %(created)s, updated %(updated)s, unchanged %(unchanged)s, rejected %(rejected)s — "
            "%(rows)s rows in %(seconds).1f s (%(rate)s rows/s)"
        ) % {
            "created": f"{c.created:,}",
            "updated": f"{c.updated:,}",
            "unchanged": f"{c.unchanged:,}",
            "rejected": f"{c.rejected:,}",
            "rows": f"{c.rows:,}",
            "seconds": self.seconds,
            "rate": f"{self.rows_per_second:,.0f}",
        }
        if self.job.dry_run:
            text = _("Dry run, nothing written: ") + text
        if self.job.located_summary:
            text += "\n" + self.job.located_summary
        if not self.job.dry_run and c.created == 0 and c.updated == 0 and c.rows:
            text += "\n" + _("Nothing changed: every row is already up to date.")
        return text


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 22):
            h.update(chunk)
    return h.hexdigest()


def job_for_file(
    path: str | Path, *, options: dict, actor=None, dry_run=False, source_name=None, uploaded=False
) -> ImportJob:
    """The unfinished job of this same file and options (to resume), or a new one
    (`uploaded`: on the import page)."""
    path = Path(path).resolve()
    digest = file_sha256(path)
    if not dry_run:
        job = (
            ImportJob.objects.filter(file_sha256=digest, options=options, dry_run=False)
            .exclude(status__in=[ImportStatus.DONE, ImportStatus.FAILED])
            .order_by("-id")
            .first()
        )
        if job is not None:
            return job
    return ImportJob.objects.create(
        created_by=actor if actor is not None and getattr(actor, "pk", None) else None,
        source_name=source_name or path.name,
        file_path=str(path),
        file_sha256=digest,
        options=options,
        dry_run=dry_run,
        uploaded=uploaded,
    )


ProgressFn = Callable[[int, int | None], None]


def run_import(
    job: ImportJob,
    *,
    actor=None,
    report_path: str | Path | None = None,
    progress: ProgressFn | None = None,
    workers: int = 1,
    parallel_from_rows: int = 0,
) -> ImportResult:
    """Import (or, for a dry-run job, validate) the job's file; resumes from its checkpoints.

    `workers` processes share the rows (see writer_processes), for files of at least
    `parallel_from_rows` rows.
    """
    started = time.perf_counter()
    opts = job.options or {}
    try:
        table = open_table(job.file_path, max_rows=opts.get("max_rows", MAX_ROWS))
        columns = map_columns(table.headers, opts.get("map"))
        crs = opts.get("crs") or CoordinateSystem.WGS84
        if crs not in CoordinateSystem.values:
            raise ImportFileError(_("Unknown coordinate system “%(crs)s”.") % {"crs": crs})
        if table.estimated_rows == 0:
            raise ImportFileError(_("The file has a header but no rows."))
    except ImportFileError as exc:
        ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.FAILED, error=str(exc))
        job.status, job.error = ImportStatus.FAILED, str(exc)
        raise
    report_path = Path(report_path or job.report_path or _default_report_path(job))
    report_path.parent.mkdir(parents=True, exist_ok=True)
    resumed_from = rows_committed(job)
    workers = writer_processes(job, workers, table.estimated_rows, parallel_from_rows)
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportStatus.VALIDATING if job.dry_run else ImportStatus.RUNNING,
        updated_at=timezone.now(),
        total_rows=table.estimated_rows,
        report_path=str(report_path),
        error="",
        workers=workers,
    )
    ctx = dict(
        table=table,
        columns=columns,
        crs=crs,
        actor=actor,
        report_base=report_path,
        batch_size=opts.get("batch_size") or default_batch_size(table.estimated_rows),
    )
    if workers == 1:
        counts, first_errors = _run_worker(job, 0, 1, progress=progress, **ctx)
    else:
        counts, first_errors = _run_parallel(job, workers, progress=progress, **ctx)
    _merge_reports(report_path, table.headers, workers)
    if counts.rejected == 0 and report_path.exists():
        report_path.unlink()
    seconds = time.perf_counter() - started
    rows_done = counts.rows
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportStatus.VALIDATED if job.dry_run else ImportStatus.DONE,
        updated_at=timezone.now(),
        rows_done=rows_done,
        total_rows=rows_done,
        created=counts.created,
        updated=counts.updated,
        unchanged=counts.unchanged,
        rejected=counts.rejected,
        report_path=str(report_path) if counts.rejected else "",
        seconds=seconds,
        preview={
            "first_errors": first_errors,
            "located": counts.located,
            "ignored_columns": columns.ignored,
            "columns": [
                [table.headers[i], f] for f, i in sorted(columns.index.items(), key=lambda fi: fi[1])
            ],
            "encoding": _encoding_label(table.encoding),
            "format": table.format,
        },
    )
    job.refresh_from_db()
    return ImportResult(
        job,
        counts,
        seconds,
        str(report_path) if counts.rejected else None,
        resumed_from,
        columns.ignored,
        first_errors,
    )


def writer_processes(job: ImportJob, asked: int, rows: int, parallel_from_rows: int = 0) -> int:
    """How many processes import (or validate) this job: fixed by its first run, so a
    resume splits the file alike.

    Each worker owns the external ids that hash to it and checkpoints its own rows; resuming
    with another count would skip rows another worker had not reached yet. Files under
    `parallel_from_rows` rows get one (a fresh worker process takes a second to start).
    """
    if job.workers:
        return job.workers
    connection = connections["default"]
    if connection.vendor == "sqlite" and connection.is_in_memory_db():
        return 1  # no other process can reach an in-memory database
    if rows < parallel_from_rows:
        return 1
    return max(1, asked)


def rows_committed(job: ImportJob) -> int:
    """File rows whose batches have committed, over all the job's workers."""
    return ImportCheckpoint.objects.filter(job=job).aggregate(n=Sum("rows_done"))["n"] or 0


def _default_report_path(job: ImportJob) -> Path:
    base = Path(settings.MEDIA_ROOT) / "imports" / f"job-{job.pk}"
    return base / ("validation-report.csv" if job.dry_run else "rejected-rows.csv")


def _part_path(report_base: Path, worker: int) -> Path:
    return report_base.with_name(report_base.name + f".part{worker}")


def _merge_reports(report_path: Path, headers: list[str], workers: int) -> None:
    """Join the workers' report parts in row order, under one header, UTF-8 with BOM."""
    parts = [_part_path(report_path, w) for w in range(workers)]
    files = [open(p, "rb") for p in parts if p.exists()]
    try:

        def keyed(f):
            for line in _csv_records(f):
                yield int(line.split(b",", 1)[0]), line

        with open(report_path, "wb") as out:
            out.write(codecs.BOM_UTF8)
            head = io.StringIO()
            csv.writer(head).writerow([*REPORT_HEADER_PREFIX, *(formula_escape(h) for h in headers)])
            out.write(head.getvalue().encode())
            for _n, line in heapq.merge(*(keyed(f) for f in files), key=lambda x: x[0]):
                out.write(line)
    finally:
        for f in files:
            f.close()
    for p in parts:
        if p.exists():
            p.unlink()


def _csv_records(f) -> Iterator[bytes]:
    """Whole CSV records (quoted cells may hold line breaks) from a report part."""
    pending = b""
    for line in f:
        pending += line
        if pending.count(b'"') % 2 == 0:
            yield pending
            pending = b""
    if pending:
        yield pending


# Session settings for one batch's transaction (PostgreSQL; SET LOCAL ends with it).
# synchronous_commit off: a batch commits without waiting for its WAL flush. A client
# killed at any point loses nothing committed; a server crash may lose the last batches,
# each with its own checkpoint row, so a re-run still resumes exactly where the data ends.
# A larger GIN pending list and work_mem: the trigram indexes take a batch's entries in
# one merge instead of several.
BULK_LOAD_SETTINGS = {
    "synchronous_commit": "off",
    "gin_pending_list_limit": "16384",  # kB (searches scan the pending list until it is merged)
    "work_mem": "65536",  # kB
}


def _bulk_load_settings() -> None:
    connection = connections["default"]
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT " + ", ".join(["set_config(%s, %s, true)"] * len(BULK_LOAD_SETTINGS)),
            [v for pair in BULK_LOAD_SETTINGS.items() for v in pair],
        )


def _run_worker(job, worker, workers, *, table, columns, crs, actor, report_base, batch_size, progress=None):
    """Read the file, validate this worker's rows and write them in checkpointed batches.

    A batch (one transaction, one checkpoint) is written in chunks of at most CHUNK_SIZE
    rows, which bound the memory; the map cells of the whole batch are applied once.
    """
    dry_run = job.dry_run
    validator = RowValidator(columns, table.headers, crs=crs)
    duplicates = DuplicateTracker()
    checkpoint, _c = ImportCheckpoint.objects.get_or_create(job=job, worker=worker)
    if checkpoint.finished:
        return Counts.of(checkpoint), checkpoint.first_errors
    part = _part_path(report_base, worker)
    report = open(part, "r+b" if part.exists() else "w+b")
    report.truncate(checkpoint.report_offset)
    report.seek(checkpoint.report_offset)
    counts = Counts.of(checkpoint)
    first_errors: list[dict] = list(checkpoint.first_errors)
    total = table.estimated_rows
    chunk_size = max(1, min(CHUNK_SIZE, batch_size))
    ext_i = columns.index["external_id"]

    def my_rows():
        """(row number, ImportRow or None, errors) of this worker's rows after the checkpoint."""
        resume_after = checkpoint.last_row
        for row_no, cells, problem in table.rows(Share(worker, workers, ext_i) if workers > 1 else None):
            if problem is not None:
                if row_no > resume_after:
                    yield row_no, None, cells, [("", problem)]
                continue
            row, errors = validator.validate(row_no, cells)
            if row is not None:
                dup = duplicates.check(row)
                if dup:
                    row, errors = None, [(validator.column("external_id"), dup)]
            if row_no > resume_after:  # before it: committed, only the duplicate tracker needed it
                yield row_no, row, cells, errors

    def write_chunk(rows, rejected, cells):
        batch_counts = Counts()
        if rows:
            batch_counts, rejects = write_batch(
                rows, customer_fields=validator.customer_fields, actor=actor, map_cells=cells, dry_run=dry_run
            )
            rejected.extend(rejects)
        batch_counts.rejected = len(rejected)
        rejected.sort(key=lambda p: p[0])
        for row_no, row_cells, errors in rejected:
            report.write(_report_line(row_no, row_cells, errors))
            if len(first_errors) < FIRST_ERRORS:
                first_errors.append(
                    {"row": row_no, "errors": [{"column": c, "reason": m} for c, m in errors]}
                )
        counts.add(batch_counts)

    def write_transaction(stream) -> bool:
        """Write one batch in chunks and commit it with its checkpoint; True after the last.

        A dry run writes nothing but the checkpoint (how far the validation got).
        """
        in_batch, done = 0, False
        with transaction.atomic():
            if not dry_run:
                _bulk_load_settings()
            with nullcontext() if dry_run else map_cells_batched() as cells:
                while in_batch < batch_size and not done:
                    rows, rejected = [], []
                    for row_no, row, row_cells, errors in stream:
                        checkpoint.last_row = row_no
                        if row is None:
                            rejected.append((row_no, row_cells, errors))
                        else:
                            rows.append(row)
                        if len(rows) + len(rejected) >= chunk_size:
                            break
                    else:
                        done = True
                    in_batch += len(rows) + len(rejected)
                    write_chunk(rows, rejected, cells)
                    if progress is not None and workers == 1:
                        progress(counts.rows, total)
                # Deferred foreign-key checks now, before the cell upsert locks its rows: a
                # concurrent writer then waits for the commit only, not for the checks too.
                if not dry_run:
                    _check_constraints_now()
            report.flush()
            os.fsync(report.fileno())
            checkpoint.rows_done = counts.rows
            checkpoint.created, checkpoint.updated = counts.created, counts.updated
            checkpoint.unchanged, checkpoint.rejected = counts.unchanged, counts.rejected
            checkpoint.located = counts.located
            checkpoint.report_offset = report.tell()
            checkpoint.first_errors = first_errors
            checkpoint.finished = done
            checkpoint.save()
        return done

    stream = my_rows()
    try:
        with _few_collections():
            done = False
            while not done:
                done = write_transaction(stream)
                if worker == 0 and not dry_run:
                    _analyze_grown_tables()
                if workers == 1:
                    ImportJob.objects.filter(pk=job.pk).update(
                        rows_done=counts.rows, updated_at=timezone.now()
                    )
                else:  # the parent sums the checkpoints; this is the heartbeat of a live worker
                    ImportJob.objects.filter(pk=job.pk).update(updated_at=timezone.now())
                if progress is not None:
                    progress(counts.rows, total)
    finally:
        report.close()
    return counts, first_errors


# Tables a batch writes and later batches look rows up in (by customer, by external id).
_ANALYZED_TABLES = ("customers_customer", "addresses_address", "addresses_addressversion")


def _analyze_grown_tables() -> None:
    """ANALYZE the import's tables once they hold ten times the rows of their last analysis.

    The write path looks up a batch's customers and addresses by id lists; without column
    statistics (a table filled from empty, with autovacuum off or not yet round) PostgreSQL
    plans those as scans of the whole table, which grow with every batch. One analysis early
    on is enough: the statistics it keeps (distinct values as a fraction of the rows) scale.
    """
    connection = connections["default"]
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT s.relname FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid "
            "WHERE s.relname = ANY(%s) AND s.n_mod_since_analyze > 10 * greatest(c.reltuples, 1000)",
            [list(_ANALYZED_TABLES)],
        )
        for (table,) in cursor.fetchall():
            cursor.execute(f"ANALYZE {connection.ops.quote_name(table)}")


@contextmanager
def _few_collections():
    """Rare garbage collections while batches build and drop millions of short-lived objects.

    Python's collector runs a pass every few thousand allocations, and its older generations
    walk every long-lived object (the parser index, the duplicate tracker): a quarter of an
    import's time. A batch's objects form no reference cycles worth collecting early.
    """
    threshold = gc.get_threshold()
    gc.freeze()  # what exists now (the index, the lookups) is never walked again
    gc.set_threshold(100_000, 50, 1000)
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()


def _check_constraints_now() -> None:
    connection = connections["default"]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def _run_parallel(job, workers, *, progress=None, **ctx):
    """Several processes, each owning the external ids that hash to it (so no two write one customer).

    A single-threaded process (the command) forks them: they share the parser's region
    index, built once here. A process with other threads (a web server, a task thread)
    must not fork (a lock another thread holds would stay locked in the child), so it
    starts fresh interpreters (addresses.import_worker) that set Django up on the same
    database.
    """
    if _single_threaded():
        import multiprocessing

        from geo.selectors import region_index

        region_index()
        connections.close_all()
        mp = multiprocessing.get_context("fork")
        procs = [mp.Process(target=_worker_main, args=(job.pk, w, workers, ctx)) for w in range(workers)]
        for p in procs:
            p.start()
    else:
        from addresses import import_worker

        spec = _spawn_spec(ctx)
        procs = [import_worker.start(job.pk, w, workers, spec) for w in range(workers)]
    total = ctx["table"].estimated_rows
    while any(p.is_alive() for p in procs):
        time.sleep(0.5)
        done = rows_committed(job)
        if progress is not None:
            progress(done, total)
        ImportJob.objects.filter(pk=job.pk).update(rows_done=done, updated_at=timezone.now())
    for p in procs:
        p.join()
    failed = [p.exitcode for p in procs if p.exitcode != 0]
    if failed:
        raise RuntimeError(f"import worker failed (exit codes {failed}); run the import again to resume")
    counts = Counts()
    first: list[dict] = []
    for cp in ImportCheckpoint.objects.filter(job=job):
        counts.add(Counts.of(cp))
        first.extend(cp.first_errors)
    if progress is not None:
        progress(counts.rows, total)
    return counts, sorted(first, key=lambda e: e["row"])[:FIRST_ERRORS]


def _single_threaded() -> bool:
    """No other thread in this process, Python's or not (a test runner's, a server's)."""
    try:
        return len(os.listdir("/proc/self/task")) == 1
    except OSError:  # not Linux
        return threading.active_count() == 1


def _worker_main(job_id, worker, workers, ctx):
    connections.close_all()
    job = ImportJob.objects.get(pk=job_id)
    try:
        _run_worker(job, worker, workers, **ctx)
    finally:
        connections.close_all()


def _spawn_spec(ctx) -> dict:
    """What a fresh worker interpreter needs (pickled to its stdin): it reopens the file itself."""
    return {
        # The environment's: under override_settings, settings.SETTINGS_MODULE is None.
        "settings": os.environ.get("DJANGO_SETTINGS_MODULE") or settings.SETTINGS_MODULE,
        "database": dict(connections["default"].settings_dict),  # the test database, too
        "language": translation.get_language(),
        "crs": ctx["crs"],
        "actor_id": getattr(ctx["actor"], "pk", None),
        "report_base": str(ctx["report_base"]),
        "batch_size": ctx["batch_size"],
        # The opened table as plain values (the child unpickles before Django is set up): it
        # need not open the file again (an XLSX's row count may read the whole sheet).
        "table": {f.name: getattr(ctx["table"], f.name) for f in dataclasses.fields(ctx["table"])},
    }


def spawned_worker(job_id, worker, workers, spec):
    """A worker in a fresh interpreter (addresses.import_worker has set Django up)."""
    connections.close_all()
    connections["default"].settings_dict.update(spec["database"])
    job = ImportJob.objects.get(pk=job_id)
    opts = job.options or {}
    table = Table(**spec["table"])
    actor = get_user_model().objects.filter(pk=spec["actor_id"]).first() if spec["actor_id"] else None
    try:
        with translation.override(spec["language"]):
            _run_worker(
                job,
                worker,
                workers,
                table=table,
                columns=map_columns(table.headers, opts.get("map")),
                crs=spec["crs"],
                actor=actor,
                report_base=Path(spec["report_base"]),
                batch_size=spec["batch_size"],
            )
    finally:
        connections.close_all()
