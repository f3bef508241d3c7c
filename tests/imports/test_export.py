import csv
import io
import json

import pytest
from django.http import StreamingHttpResponse
from django.urls import reverse
from django.utils import translation
from openpyxl import load_workbook

from addresses.services import address_create
from imports.xlsx_reader import first_worksheet

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english(settings):
    """Assertions read the English messages (the catalogue translates them to Chinese)."""
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


@pytest.fixture
def data(make_customer, sales, other_sales):
    mine = make_customer("我的客户", owner=sales, external_id="M1", stage="new")
    address_create(customer=mine, district_code="440305", detail="科技南十二路2号")
    theirs = make_customer("别人的客户", owner=other_sales, external_id="T1")
    address_create(customer=theirs, district_code="110105", detail="建国路88号")
    evil = make_customer('=HYPERLINK("http://evil")', owner=sales, external_id="E1", stage="churned")
    address_create(customer=evil, district_code="310115", detail="@世纪大道")
    return mine, theirs, evil


def csv_rows(response):
    assert isinstance(response, StreamingHttpResponse)
    body = b"".join(response.streaming_content)
    assert body.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def test_csv_export_is_scoped_to_the_user_and_escapes_formulas(client, sales, data):
    client.force_login(sales)
    rows = csv_rows(client.get(reverse("imports:export")))
    assert rows[0][:2] == ["外部编号", "客户名称"]
    ids = sorted(r[0] for r in rows[1:])
    assert ids == ["E1", "M1"]
    evil = next(r for r in rows if r[0] == "E1")
    assert evil[1] == '\'=HYPERLINK("http://evil")' and evil[13] == "'@世纪大道"


def test_export_honours_the_list_filters_and_the_selection(client, manager, data):
    client.force_login(manager)
    rows = csv_rows(client.get(reverse("imports:export"), {"stage": "new"}))
    assert [r[0] for r in rows[1:]] == ["M1"]
    rows = csv_rows(client.get(reverse("imports:export"), {"region": "110000"}))
    assert [r[0] for r in rows[1:]] == ["T1"]
    mine, theirs, _evil = data
    rows = csv_rows(client.get(reverse("imports:export"), {"ids": f"{mine.pk},{theirs.pk}"}))
    assert sorted(r[0] for r in rows[1:]) == ["M1", "T1"]


def test_sales_selection_cannot_reach_other_users_customers(client, sales, data):
    client.force_login(sales)
    _mine, theirs, _evil = data
    rows = csv_rows(client.get(reverse("imports:export"), {"ids": str(theirs.pk)}))
    assert rows[1:] == []


def test_xlsx_export_types_formula_text_as_text(client, manager, data):
    client.force_login(manager)
    response = client.get(reverse("imports:export"), {"format": "xlsx"})
    wb = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    ws = wb.active
    cells = {row[0].value: row for row in ws.iter_rows(min_row=2)}
    assert set(cells) == {"E1", "M1", "T1"}
    assert cells["E1"][1].data_type == "s" and cells["E1"][1].value.startswith("=HYPERLINK")
    assert isinstance(cells["M1"][16].value, float)  # 经度


def test_geojson_export(client, manager, data):
    client.force_login(manager)
    response = client.get(reverse("imports:export"), {"format": "geojson"})
    collection = json.loads(b"".join(response.streaming_content))
    assert collection["type"] == "FeatureCollection" and len(collection["features"]) == 3
    feature = next(f for f in collection["features"] if f["properties"]["external_id"] == "M1")
    lng, lat = feature["geometry"]["coordinates"]
    assert 113 < lng < 115 and 22 < lat < 23 and feature["properties"]["district"] == "南山区"
    assert (feature["properties"]["lng"], feature["properties"]["lat"]) == (lng, lat)  # numbers, not text
    unlocated = [f for f in collection["features"] if f["geometry"] is None]
    assert all(f["properties"]["lng"] is None and f["properties"]["lat"] is None for f in unlocated)


def test_anonymous_users_are_sent_to_log_in(client, data):
    assert client.get(reverse("imports:export")).status_code == 302


def test_bad_format(client, manager):
    client.force_login(manager)
    assert client.get(reverse("imports:export"), {"format": "pdf"}).status_code == 400


def test_export_command_with_user_and_filter(tmp_path, data):
    from django.core.management import call_command

    out = tmp_path / "e.csv"
    call_command("export_customers", "--user", "sales1", "--filter", "stage=churned", "-o", str(out))
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert [r[0] for r in rows[1:]] == ["E1"]


def test_export_command_explains_a_bad_filter_and_writes_nothing(tmp_path, data):
    from django.core.management import CommandError, call_command

    out = tmp_path / "e.csv"
    with pytest.raises(CommandError) as bad_value:
        call_command("export_customers", "--filter", "stage=zzz", "-o", str(out))
    assert str(bad_value.value).startswith("Bad filter: stage: Select a valid choice. zzz is not one")
    with pytest.raises(CommandError, match="--filter takes NAME=VALUE, not “stage”"):
        call_command("export_customers", "--filter", "stage", "-o", str(out))
    assert not out.exists()


def test_customer_without_address_is_exported(client, manager, make_customer):
    make_customer("无地址", external_id="N1")
    client.force_login(manager)
    rows = csv_rows(client.get(reverse("imports:export")))
    assert rows[1][:2] == ["N1", "无地址"] and rows[1][8] == ""


def test_customer_without_address_round_trips(tmp_path, make_customer):
    from django.core.management import call_command

    make_customer("无地址", external_id="N1", phone="123")
    out = tmp_path / "e.csv"
    call_command("export_customers", "-o", str(out))
    log = io.StringIO()
    call_command("import_customers", str(out), "--progress", "none", stdout=log)
    assert "unchanged 1" in log.getvalue() and "rejected 0" in log.getvalue()


def test_csv_export_matches_the_row_by_row_writer(make_customer, sales):
    """PostgreSQL's COPY and csv.writer over export_records give the same cells (each database runs one)."""
    from addresses.models import AddressCategory
    from customers.models import Customer
    from imports import exporting

    blue = AddressCategory.objects.create(name="=蓝")
    red = AddressCategory.objects.create(name="红")
    tricky = make_customer(
        '-引号"和,逗号\n换行', owner=sales, external_id="+X1", phone="-13800138000", email=""
    )
    address_create(
        customer=tricky,
        province_code="US-CA",  # a negative longitude (a '-' cell that is a number, not a formula)
        detail="@科技路1号",
        lat="36.7",
        lng="-119.6",
        category_ids=[blue.pk, red.pk],
    )
    address_create(customer=tricky, kind="billing", raw_text="北京市朝阳区建国路88号")
    make_customer("无地址", external_id="N1")
    customers = Customer.objects.all()
    streamed = b"".join(exporting.csv_export(customers, chunk_bytes=10))
    written = b"".join(exporting.csv_chunks(exporting._orm_records(customers, chunk=1)))
    # XLSX and GeoJSON read PostgreSQL's rows through a server-side cursor: the same records.
    assert list(exporting.export_records(customers, chunk=1)) == list(
        exporting._orm_records(customers, chunk=1)
    )
    assert streamed.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(streamed.decode("utf-8-sig"))))
    assert rows == list(csv.reader(io.StringIO(written.decode("utf-8-sig"))))
    assert len(rows) == 4 and exporting.export_row_count(customers) == 3
    first = next(r for r in rows if r[7] == "delivery")
    assert first[0] == "'+X1" and first[1].startswith("'-引号") and first[5] == "-13800138000"
    assert first[13] == "'@科技路1号" and first[20] == "'=蓝|红"


def test_formula_cells_in_copy_output_are_escaped_like_the_row_by_row_writer():
    """COPY's lines skip the Python pass unless a cell may need escaping; none is ever missed."""
    import itertools
    import random

    from imports import exporting
    from imports.reading import formula_escape

    pieces = ["", "=", "+", "-", "@", "\t", "\r", "1", "1.5", ",", '"', "\n", "a", "客", "-1,2", "+86"]
    rnd = random.Random(6)
    cells = ["".join(p) for p in itertools.product(pieces, repeat=2)]
    for _ in range(3000):
        rows = [rnd.sample(cells, 3) for _ in range(rnd.randint(1, 3))]
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows(rows)
        chunk = out.getvalue().encode()
        escaped = list(csv.reader(io.StringIO(exporting._escape_formulas(chunk).decode(), newline="")))
        assert escaped == [[formula_escape(c) for c in row] for row in rows], rows
    assert exporting._escape_formulas(b"a,-1.5,+86\n") == b"a,-1.5,+86\n"


def read_xlsx(data: bytes) -> dict[str, list[tuple]]:
    wb = load_workbook(io.BytesIO(data))
    return {ws.title: [tuple(c.value for c in row) for row in ws.iter_rows()] for ws in wb.worksheets}


def record(ext, name, lng="", lat="", raw=""):
    values = [ext, name, "enterprise", "potential", "", "", "", "delivery", raw] + [""] * 12
    values[16], values[17] = lng, lat
    return values, ((lng, lat) if lat else None)


def _write(path, data: bytes):
    path.write_bytes(data)
    return path


def test_xlsx_streams_in_chunks_and_keeps_every_cell(tmp_path):
    from imports import exporting

    records = [record(f"C{i}", f"客户{i}", "113.9", "22.5", "广东省深圳市") for i in range(25)]
    records.append(record("X", "  <甲&乙>  ", "-0.5", "51.477"))
    records.append(record("Y", "控制\x01字符\x0b\ud800", raw="多行\r\n地址"))
    records.append(record("Z", "=SUM(A1)", "1E-7", "0"))
    records.append(record("W", "_x0041_ 与 _x005F_"))
    chunks = list(exporting.xlsx_chunks(records, rows_per_chunk=10))
    assert len(chunks) >= 4  # bytes leave while rows are still coming
    assert chunks[0].startswith(b"PK")
    (rows,) = read_xlsx(b"".join(chunks)).values()
    assert rows[0][:2] == ("外部编号", "客户名称") and len(rows) == 30
    assert rows[1][:2] == ("C0", "客户0") and rows[1][16:18] == (113.9, 22.5)
    assert rows[26][1] == "  <甲&乙>  " and rows[26][16:18] == (-0.5, 51.477)
    assert rows[28][1] == "=SUM(A1)" and rows[28][16:18] == ("1E-7", 0)  # text, never a formula
    # Control characters and \r travel as Excel's _xHHHH_ escapes (openpyxl leaves them
    # encoded, Excel and the import decode them); text that looks like an escape is escaped.
    assert rows[27][1] == "控制_x0001_字符_x000B_" and rows[27][8] == "多行_x000D_\n地址"
    assert rows[29][1] == "_x005F_x0041_ 与 _x005F_x005F_"
    sheet = first_worksheet(_write(tmp_path / "e.xlsx", b"".join(chunks)))
    read = [values for _n, values, _problem in sheet.rows()]
    assert read[27][1] == "控制\x01字符\x0b" and read[27][8] == "多行\r\n地址"  # a lone surrogate dropped
    assert read[29][1] == "_x0041_ 与 _x005F_"


def test_xlsx_goes_on_in_a_next_sheet_past_the_row_limit():
    from imports import exporting

    records = [record(f"C{i}", f"客户{i}") for i in range(5)]
    sheets = read_xlsx(b"".join(exporting.xlsx_chunks(records, sheet_rows=3)))
    assert list(sheets) == ["customers", "customers 2", "customers 3"]
    assert [[r[0] for r in rows] for rows in sheets.values()] == [
        ["外部编号", "C0", "C1"],
        ["外部编号", "C2", "C3"],
        ["外部编号", "C4"],
    ]
    (empty,) = read_xlsx(b"".join(exporting.xlsx_chunks([], rows=0))).values()
    assert empty == [tuple(exporting.HEADERS)]


def test_xlsx_export_round_trips_through_the_import(tmp_path, sales, data):
    from django.core.management import call_command

    out = tmp_path / "e.xlsx"
    call_command("export_customers", "--format", "xlsx", "-o", str(out))
    wb = load_workbook(out)
    assert wb.active.freeze_panes == "A2" and wb.active["A1"].font.b
    assert load_workbook(out, read_only=True).active.max_row == 4  # the dimension: 3 rows and the header
    log = io.StringIO()
    call_command("import_customers", str(out), "--progress", "none", stdout=log)
    assert "unchanged 3" in log.getvalue() and "rejected 0" in log.getvalue()
