"""Export customers and their addresses as CSV (UTF-8 with BOM), XLSX or GeoJSON.

Rows stream in keyset-paginated chunks (customer id order), so memory stays flat at
any size. On PostgreSQL the CSV is one `COPY (SELECT ...) TO STDOUT` over the
filtered customers: the server writes the lines and Python only escapes the rare
formula cells in what it wrote. The columns are the import's own headers:
exporting and importing the same file changes nothing. Spreadsheet formats escape
text a spreadsheet would run as a formula (= + - @): CSV with a leading
apostrophe, XLSX by typing cells as text.
"""

import codecs
import csv
import io
import json
import re
import tempfile
from collections.abc import Iterable, Iterator

from django.db import connections, transaction
from django.db.models import QuerySet

from addresses.importing import formula_escape
from addresses.models import Address

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


def export_records(customers: QuerySet, *, chunk: int = CHUNK) -> Iterator[tuple[list, tuple | None]]:
    """(row values in COLUMNS order, (lng, lat) or None) per address; customers without one get one row.

    `customers` is already scoped (visible_to) and filtered (CustomerFilterSet).
    """
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
                point = (lng, lat) if lat is not None else None
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
    return f"COPY ({select}) TO STDOUT WITH (FORMAT csv)", tuple(params)


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
        # JIT compiling this one query takes seconds and saves nothing; a larger sort
        # memory keeps the sort by customer off disk (bounded: beyond it, it spills).
        cursor.execute("SET LOCAL jit = off")
        cursor.execute("SET LOCAL work_mem = '128MB'")
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
        feature = json.dumps(
            {"type": "Feature", "geometry": geometry, "properties": dict(zip(keys, values))},
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


def xlsx_file(records: Iterable[tuple[list, tuple | None]]):
    """A temporary .xlsx file (openpyxl write-only: rows go to disk as they come); caller closes it."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("customers")
    ws.append(HEADERS)

    def text_cell(value):
        cell = WriteOnlyCell(ws, value=None)
        cell.value = value
        if isinstance(value, str) and value.startswith("="):
            cell.data_type = "s"  # text, never a formula
        return cell

    numeric = {HEADERS.index("经度"), HEADERS.index("纬度")}
    for values, _point in records:
        ws.append([(float(v) if v else None) if i in numeric else text_cell(v) for i, v in enumerate(values)])
    out = tempfile.NamedTemporaryFile(suffix=".xlsx")  # noqa: SIM115 (returned to the caller)
    wb.save(out)
    out.seek(0)
    return out
