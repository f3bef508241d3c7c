"""Export customers and their addresses as CSV (UTF-8 with BOM), XLSX or GeoJSON.

Rows stream in keyset-paginated chunks (customer id order), so memory stays flat at
any size. On PostgreSQL the CSV is one `COPY (SELECT ...) TO STDOUT` over the
filtered customers: the server writes the lines and Python only escapes the rare
formula cells in what it wrote; XLSX and GeoJSON read the same SELECT through a
server-side cursor. The columns are the import's own headers: exporting and
importing the same file changes nothing. Spreadsheet formats escape text a
spreadsheet would run as a formula (= + - @): CSV with a leading apostrophe, XLSX
by typing cells as text. XLSX streams too (`xlsx_chunks`): its sheet XML goes into
a zip written as it comes, so the first bytes leave at once and a million rows take
seconds, not the minutes a general spreadsheet library takes.
"""

import codecs
import csv
import io
import json
import re
import zipfile
from collections.abc import Iterable, Iterator

from django.db import connections, transaction
from django.db.models import Exists, OuterRef, QuerySet

from addresses.models import Address
from imports.reading import formula_escape

CHUNK = 5000
COLUMNS = (
    # header, source
    ("外部编号", "external_id"),
    ("客户名称", "name"),
    ("类型", "kind"),
    ("阶段", "stage"),
    ("负责人", "owner"),
    ("手机", "phone"),
    ("邮箱", "email"),
    ("地址类型", "address_kind"),
    ("地址", "raw_text"),
    ("国家", "country"),
    ("省", "province"),
    ("市", "city"),
    ("区", "district"),
    ("详细地址", "detail"),
    ("邮编", "postcode"),
    ("区划代码", "region_code"),
    ("经度", "lng"),
    ("纬度", "lat"),
    ("定位精度", "precision"),
    ("定位来源", "geocode_source"),
    ("分类", "categories"),
)
HEADERS = [h for h, _s in COLUMNS]
FORMATS = ("csv", "xlsx", "geojson")
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "geojson": "application/geo+json",
}
_ADDRESS_VALUES = (
    "customer_id",
    "id",
    "kind",
    "raw_text",
    "detail",
    "postcode",
    "region__code",
    "country__name",
    "province__name",
    "city__name",
    "district__name",
    "lng",
    "lat",
    "precision",
    "geocode_source",
)


def export_chunks(customers: QuerySet, fmt: str) -> Iterator[bytes]:
    """The export of these (scoped, filtered) customers in `fmt` (one of FORMATS), streamed."""
    if fmt == "csv":
        return csv_export(customers)
    if fmt == "xlsx":
        return xlsx_chunks(export_records(customers), rows=export_row_count(customers))
    return geojson_chunks(export_records(customers))


def export_records(customers: QuerySet, *, chunk: int = CHUNK) -> Iterator[tuple[list, tuple | None]]:
    """(row values in COLUMNS order, (lng, lat) or None) per address; customers without one get one row.

    `customers` is already scoped (visible_to) and filtered (CustomerFilterSet). On
    PostgreSQL the rows come from the CSV export's own SELECT through a server-side
    cursor (one query, constant memory, about three times faster than the ORM's chunks).
    """
    if connections[customers.db].vendor == "postgresql":
        return _cursor_records(customers, chunk=chunk)
    return _orm_records(customers, chunk=chunk)


_LNG, _LAT = (next(i for i, (_h, s) in enumerate(COLUMNS) if s == name) for name in ("lng", "lat"))


def _export_query_settings(cursor) -> None:
    """For the export's one big query, until the transaction ends: JIT compiling it takes
    seconds and saves nothing; a larger sort memory keeps the sort by customer off disk
    (bounded: beyond it, it spills)."""
    cursor.execute("SET LOCAL jit = off")
    cursor.execute("SET LOCAL work_mem = '128MB'")


def _cursor_records(customers: QuerySet, *, chunk: int) -> Iterator[tuple[list, tuple | None]]:
    Through = Address.categories.through
    sql, params = _select_sql(customers, categories=Through.objects.using(customers.db).exists())
    connection = connections[customers.db]
    with transaction.atomic(using=customers.db):
        with connection.cursor() as cursor:
            _export_query_settings(cursor)
        with connection.connection.cursor(name="dizhi_export") as cursor:
            cursor.itersize = chunk
            cursor.execute(sql, params or None)
            for row in cursor:
                values = ["" if v is None else v for v in row]
                lng, lat = values[_LNG], values[_LAT]
                yield values, ((lng, lat) if lat else None)


def _orm_records(customers: QuerySet, *, chunk: int) -> Iterator[tuple[list, tuple | None]]:
    base = customers.order_by().values_list(
        "pk", "external_id", "name", "kind", "stage", "owner__username", "phone", "email"
    )
    last = 0
    categories = dict(Address.categories.field.related_model.objects.values_list("pk", "name"))
    Through = Address.categories.through
    while True:
        rows = list(base.filter(pk__gt=last).order_by("pk")[:chunk])
        if not rows:
            return
        last = rows[-1][0]
        ids = [r[0] for r in rows]
        by_customer: dict[int, list] = {}
        address_ids = []
        for a in (
            Address.objects.filter(customer_id__in=ids)
            .order_by("customer_id", "-is_primary", "kind", "id")
            .values_list(*_ADDRESS_VALUES)
        ):
            by_customer.setdefault(a[0], []).append(a)
            address_ids.append(a[1])
        cats: dict[int, list[str]] = {}
        if address_ids:
            for address_id, category_id in Through.objects.filter(address_id__in=address_ids).values_list(
                "address_id", "addresscategory_id"
            ):
                cats.setdefault(address_id, []).append(categories.get(category_id, ""))
        for pk, ext, name, kind, stage, owner, phone, email in rows:
            customer = [ext or "", name, kind, stage, owner or "", phone, email]
            addresses = by_customer.get(pk)
            if not addresses:
                yield customer + [""] * 14, None
                continue
            for (
                _c,
                aid,
                akind,
                raw,
                detail,
                postcode,
                code,
                country,
                province,
                city,
                district,
                lng,
                lat,
                precision,
                source,
            ) in addresses:
                point = (str(lng), str(lat)) if lat is not None else None
                yield (
                    customer
                    + [
                        akind,
                        raw,
                        country or "",
                        province or "",
                        city or "",
                        district or "",
                        detail,
                        postcode,
                        code or "",
                        "" if lng is None else str(lng),
                        "" if lat is None else str(lat),
                        precision,
                        source,
                        "|".join(sorted(cats.get(aid, ()))),
                    ],
                    point,
                )


# What COPY selects, in COLUMNS order: `c` is the filtered customers subquery, `a` the
# address (NULL for a customer without one), `cats` its category names.
_COPY_CELLS = (
    "c.external_id",
    "c.name",
    "c.kind",
    "c.stage",
    "c.owner",
    "c.phone",
    "c.email",
    "a.kind",
    "a.raw_text",
    "country.name",
    "province.name",
    "city.name",
    "district.name",
    "a.detail",
    "a.postcode",
    "region.code",
    "a.lng::text",
    "a.lat::text",
    "a.precision",
    "a.geocode_source",
    "{categories}",
)
_CATEGORIES_SQL = (
    "(SELECT string_agg(cat.name, '|' ORDER BY cat.name COLLATE \"C\") "
    "FROM addresses_address_categories ac JOIN addresses_addresscategory cat "
    "ON cat.id = ac.addresscategory_id WHERE ac.address_id = a.id)"
)
# Formula cells in what COPY wrote. A cell starts after a comma, a line break or an
# opening quote: translated through _CELL_START, such a start holding = + - @ tab CR is
# the pair 1 2 (one C pass, mostly finding nothing). Only then does the exact test run: a
# cell (unquoted, or quoted) starting with = @ tab CR, or with + - unless it is a plain
# unquoted number; line starts inside quoted cells only cost a spurious re-parse.
_CELL_START = bytes(1 if b in b',"\n' else 2 if b in b"=+-@\t\r" else 0 for b in range(256))
_FORMULA_CELL_RE = re.compile(rb'(?m)(?:^|,)(?:"[=+\-@\t\r]|[=@\t\r]|[+-](?!\d+(?:\.\d+)?(?:,|$)))')


def _copy_sql(customers: QuerySet, *, categories: bool) -> tuple[str, tuple]:
    """`COPY (SELECT ...) TO STDOUT` for the export of these (scoped, filtered) customers."""
    select, params = _select_sql(customers, categories=categories)
    return f"COPY ({select}) TO STDOUT WITH (FORMAT csv)", params


def _select_sql(customers: QuerySet, *, categories: bool) -> tuple[str, tuple]:
    """The SELECT of the export's rows, in COLUMNS order (PostgreSQL)."""
    inner = customers.order_by().values_list(
        "pk", "external_id", "name", "kind", "stage", "owner__username", "phone", "email"
    )
    sql, params = inner.query.sql_with_params()
    cells = ", ".join(_COPY_CELLS).format(categories=_CATEGORIES_SQL if categories else "NULL")
    # Our own column list around the queryset's compiled, parametrised SQL.
    select = (
        f"SELECT {cells} "  # noqa: S608
        f"FROM ({sql}) AS c (pk, external_id, name, kind, stage, owner, phone, email) "
        "LEFT JOIN addresses_address a ON a.customer_id = c.pk "
        "LEFT JOIN geo_region region ON region.id = a.region_id "
        "LEFT JOIN geo_region country ON country.id = a.country_id "
        "LEFT JOIN geo_region province ON province.id = a.province_id "
        "LEFT JOIN geo_region city ON city.id = a.city_id "
        "LEFT JOIN geo_region district ON district.id = a.district_id "
        "ORDER BY c.pk, a.is_primary DESC, a.kind, a.id"
    )
    return select, tuple(params)


def _escape_formulas(chunk: bytes) -> bytes:
    """Whole CSV lines from COPY, their formula cells escaped as `formula_escape` does."""
    starts = chunk.translate(_CELL_START)
    if (starts[:1] != b"\x02" and b"\x01\x02" not in starts) or not _FORMULA_CELL_RE.search(chunk):
        return chunk
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for cells in csv.reader(io.StringIO(chunk.decode(), newline="")):
        writer.writerow([formula_escape(c) for c in cells])
    return out.getvalue().encode()


def _copy_csv_chunks(customers: QuerySet, *, chunk_bytes: int) -> Iterator[bytes]:
    """The CSV as PostgreSQL writes it (one COPY, constant memory), in ~chunk_bytes pieces."""
    Through = Address.categories.through
    sql, params = _copy_sql(customers, categories=Through.objects.using(customers.db).exists())
    yield codecs.BOM_UTF8 + csv.writer(_Line()).writerow(HEADERS).encode()
    with transaction.atomic(using=customers.db), connections[customers.db].cursor() as cursor:
        _export_query_settings(cursor)
        buf = bytearray()
        with cursor.cursor.copy(sql, params or None) as copy:
            for line in copy:
                buf += line
                if len(buf) >= chunk_bytes:
                    yield _escape_formulas(bytes(buf))
                    buf.clear()
        if buf:
            yield _escape_formulas(bytes(buf))


def csv_export(customers: QuerySet, *, chunk_bytes: int = 1 << 18) -> Iterator[bytes]:
    """The CSV export of these (scoped, filtered) customers, streamed: UTF-8 with BOM, formulas escaped.

    PostgreSQL writes it with one COPY (Python escapes formula cells in what it wrote);
    other databases go through export_records and csv.writer.
    """
    if connections[customers.db].vendor == "postgresql":
        return _copy_csv_chunks(customers, chunk_bytes=chunk_bytes)
    return csv_chunks(export_records(customers))


class _Line:
    """A file-like that hands back what csv.writer wrote (for streaming)."""

    def write(self, value):
        return value


def csv_chunks(
    records: Iterable[tuple[list, tuple | None]], *, lines_per_chunk: int = 2000
) -> Iterator[bytes]:
    """UTF-8 with BOM (so Excel reads Chinese), formula cells escaped, in ~chunks of lines."""
    writer = csv.writer(_Line())
    yield codecs.BOM_UTF8 + writer.writerow(HEADERS).encode()
    buf = []
    for values, _point in records:
        buf.append(writer.writerow([formula_escape(v) for v in values]))
        if len(buf) >= lines_per_chunk:
            yield "".join(buf).encode()
            buf = []
    if buf:
        yield "".join(buf).encode()


def geojson_chunks(records: Iterable[tuple[list, tuple | None]], *, per_chunk: int = 1000) -> Iterator[bytes]:
    """A FeatureCollection; customers or addresses without a point get a null geometry."""
    yield b'{"type":"FeatureCollection","features":[\n'
    keys = [s for _h, s in COLUMNS]
    buf = []
    first = True
    for values, point in records:
        geometry = {"type": "Point", "coordinates": [float(point[0]), float(point[1])]} if point else None
        properties = dict(zip(keys, values))
        # Numbers, as in the geometry (the CSV and XLSX rows carry them as text and cells).
        properties["lng"] = float(properties["lng"]) if properties["lng"] else None
        properties["lat"] = float(properties["lat"]) if properties["lat"] else None
        feature = json.dumps(
            {"type": "Feature", "geometry": geometry, "properties": properties},
            ensure_ascii=False,
            separators=(",", ":"),
        )
        buf.append(feature if first else "," + feature)
        first = False
        if len(buf) >= per_chunk:
            yield ("\n".join(buf) + "\n").encode()
            buf = []
    if buf:
        yield ("\n".join(buf) + "\n").encode()
    yield b"]}\n"


# -- XLSX, streamed ---------------------------------------------------------------

XLSX_MAX_ROWS = 1_048_576  # a sheet's rows in Excel; the export goes on in a next sheet
_XLSX_MAX_SHEET_BYTES = 1_900_000_000  # and before a sheet's XML nears zip's 2 GiB entry limit
# Control characters (and \r, which XML parsers turn into \n) as ECMA-376 _xHHHH_ escapes, as
# Excel writes them, and the _ of text that reads as such an escape as _x005F_; the import
# (xlsx_reader) decodes both. What XML cannot hold even so (lone surrogates) is dropped.
_XLSX_ESCAPE_RE = re.compile("_(?=x[0-9A-Fa-f]{4}_)|[\x00-\x08\x0b-\x1f]")
_XML_ILLEGAL_RE = re.compile("[\ufffe\uffff\ud800-\udfff]")
_NUMBER_RE = re.compile(r"-?\d+(?:\.\d+)?\Z")
_NS = "http://schemas.openxmlformats.org/"
_XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_SHEET_HEAD = (
    _XML + f'<worksheet xmlns="{_NS}spreadsheetml/2006/main">'
    "{dimension}"
    '<sheetViews><sheetView workbookViewId="0">'
    '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
    "</sheetView></sheetViews>"
    "<cols>{cols}</cols><sheetData>"
)
_STYLES = (
    _XML + f'<styleSheet xmlns="{_NS}spreadsheetml/2006/main">'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)
# Column widths in characters (Chinese characters count about two).
_WIDTHS = {"name": 24, "raw_text": 40, "detail": 28, "email": 22, "phone": 16, "categories": 16}


def _column_letter(i: int) -> str:
    letters = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        letters = chr(65 + r) + letters
    return letters


class _Sink(io.RawIOBase):
    """The zip's output: kept until taken (zipfile writes to it, the generator hands it out)."""

    def __init__(self):
        self._parts: list[bytes] = []
        self._pos = 0

    def writable(self):
        return True

    def write(self, b):
        self._parts.append(bytes(b))
        self._pos += len(b)
        return len(b)

    def tell(self):
        return self._pos

    def take(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        return data


def export_row_count(customers: QuerySet) -> int:
    """How many rows export_records gives for these customers (one per address, or one)."""
    with_address = Address.objects.filter(customer_id__in=customers.values("pk"))
    without = customers.filter(~Exists(Address.objects.filter(customer_id=OuterRef("pk"))))
    return with_address.count() + without.count()


def xlsx_chunks(
    records: Iterable[tuple[list, tuple | None]],
    *,
    rows: int | None = None,
    rows_per_chunk: int = 2000,
    sheet_rows: int = XLSX_MAX_ROWS,
) -> Iterator[bytes]:
    """An .xlsx workbook of `records` under HEADERS, streamed: bytes leave as rows come.

    One sheet ("customers"; more, "customers 2" ..., past Excel's 1,048,576 rows), the
    header bold and frozen, text as inline strings (never formulas, whatever they start
    with), longitude and latitude as numbers. The zip is written without seeking (sizes
    after each entry), which every spreadsheet program reads. `rows`, the number of
    records if known beforehand (export_row_count), goes into a one-sheet workbook's
    dimension, which readers use to size the sheet (the import: its progress and row limit)
    without reading it through first.
    """
    sink = _Sink()
    letters = [_column_letter(i) for i in range(len(HEADERS))]
    cols = "".join(
        f'<col min="{i + 1}" max="{i + 1}" width="{_WIDTHS.get(source, 12)}" customWidth="1"/>'
        for i, (_h, source) in enumerate(COLUMNS)
    )
    header = "".join(
        f'<c r="{letters[i]}1" t="inlineStr" s="1"><is><t>{h}</t></is></c>' for i, h in enumerate(HEADERS)
    )
    sheets = 0
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        stream = iter(records)
        pending = next(stream, None)
        while sheets == 0 or pending is not None:
            sheets += 1
            with zf.open(f"xl/worksheets/sheet{sheets}.xml", "w") as sheet:
                dimension = ""
                if rows is not None and rows < sheet_rows:
                    dimension = f'<dimension ref="A1:{letters[-1]}{rows + 1}"/>'
                head = _SHEET_HEAD.format(dimension=dimension, cols=cols)
                sheet.write((head + f'<row r="1">{header}</row>').encode())
                n, size, buf = 1, 0, []
                while pending is not None and n < sheet_rows and size < _XLSX_MAX_SHEET_BYTES:
                    n += 1
                    buf.append(_xlsx_row(n, pending[0], letters))
                    pending = next(stream, None)
                    if len(buf) >= rows_per_chunk:
                        data = "".join(buf).encode()
                        size += len(data)
                        sheet.write(data)
                        buf.clear()
                        yield sink.take()
                sheet.write(("".join(buf) + "</sheetData></worksheet>").encode())
            yield sink.take()
        for name, text in _xlsx_package(sheets).items():
            zf.writestr(name, text)
    yield sink.take()


_NUMERIC = {_LNG, _LAT}


def _xlsx_escape(match: re.Match) -> str:
    return "_x005F_" if match.group() == "_" else f"_x{ord(match.group()):04X}_"


def _xlsx_row(n: int, values: list, letters: list[str]) -> str:
    """Row `n` of the sheet: empty cells left out, coordinates as numbers, the rest inline text."""
    cells = []
    for i, v in enumerate(values):
        if not v:
            continue
        if i in _NUMERIC and _NUMBER_RE.match(v):
            cells.append(f'<c r="{letters[i]}{n}"><v>{v}</v></c>')
            continue
        if "_x" in v or not v.isprintable():
            v = _XML_ILLEGAL_RE.sub("", _XLSX_ESCAPE_RE.sub(_xlsx_escape, v))
        if "&" in v or "<" in v or ">" in v:
            v = v.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        space = ' xml:space="preserve"' if v[:1].isspace() or v[-1:].isspace() else ""
        cells.append(f'<c r="{letters[i]}{n}" t="inlineStr"><is><t{space}>{v}</t></is></c>')
    return f'<row r="{n}">{"".join(cells)}</row>'


def _xlsx_package(sheets: int) -> dict[str, str]:
    """The workbook's parts besides its sheets (sheet1.xml ... sheet`sheets`.xml)."""
    names = ["customers"] + [f"customers {k}" for k in range(2, sheets + 1)]
    office = f"{_NS}officeDocument/2006/relationships"
    content = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    return {
        "xl/styles.xml": _STYLES,
        "xl/workbook.xml": (
            _XML
            + f'<workbook xmlns="{_NS}spreadsheetml/2006/main" xmlns:r="{office}"><sheets>'
            + "".join(
                f'<sheet name="{name}" sheetId="{k}" r:id="rId{k}"/>' for k, name in enumerate(names, 1)
            )
            + "</sheets></workbook>"
        ),
        "xl/_rels/workbook.xml.rels": (
            _XML
            + f'<Relationships xmlns="{_NS}package/2006/relationships">'
            + "".join(
                f'<Relationship Id="rId{k}" Type="{office}/worksheet" Target="worksheets/sheet{k}.xml"/>'
                for k in range(1, sheets + 1)
            )
            + f'<Relationship Id="rId{sheets + 1}" Type="{office}/styles" Target="styles.xml"/>'
            "</Relationships>"
        ),
        "_rels/.rels": (
            _XML + f'<Relationships xmlns="{_NS}package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{office}/officeDocument" Target="xl/workbook.xml"/>'
            "</Relationships>"
        ),
        "[Content_Types].xml": (
            _XML + f'<Types xmlns="{_NS}package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{content}.sheet.main+xml"/>'
            f'<Override PartName="/xl/styles.xml" ContentType="{content}.styles+xml"/>'
            + "".join(
                f'<Override PartName="/xl/worksheets/sheet{k}.xml" ContentType="{content}.worksheet+xml"/>'
                for k in range(1, sheets + 1)
            )
            + "</Types>"
        ),
    }
