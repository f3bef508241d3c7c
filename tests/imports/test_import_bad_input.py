"""Every bad input named in issue 6: a clear error, nothing half-written, every good row kept."""

import csv
import io
import zipfile
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation

from addresses.models import Address
from customers.models import Customer

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english(settings):
    """Assertions read the English messages (the catalogue translates them to Chinese)."""
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


HEADER = "外部编号,客户名称,地址\n"
GOOD = "G1,好客户,北京市朝阳区建国路88号\n"


def run(path, *args):
    out = io.StringIO()
    call_command(
        "import_customers", str(path), "--progress", "none", "--report", f"{path}.r.csv", *args, stdout=out
    )
    return out.getvalue()


def report(path):
    text = Path(f"{path}.r.csv").read_bytes().decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))[1:]


def refused(path, *args) -> str:
    with pytest.raises(CommandError) as exc:
        run(path, *args)
    assert not Customer.objects.exists() and not Address.objects.exists()
    return str(exc.value)


def test_mixed_encoding_rejects_the_foreign_lines_and_keeps_the_rest(tmp_path):
    f = tmp_path / "mixed.csv"
    f.write_bytes(
        (HEADER + GOOD).encode()
        + "G2,坏编码,上海市浦东新区\n".encode("gbk")
        + "G3,第三,广州市天河区\n".encode()
    )
    out = run(f)
    assert "created 2" in out and "rejected 1" in out
    (row,) = report(f)
    assert row[0] == "3" and "not valid UTF-8" in row[2] and "mixes text encodings" in row[2]
    assert row[3:] == ["G2", "坏编码", "上海市浦东新区"]  # the original values, readable


def test_mixed_encoding_in_a_gbk_file_reports_the_utf8_line_readably(tmp_path):
    f = tmp_path / "mixed-gbk.csv"
    gbk_rows = "".join(f"K{i},客户{i},北京市东城区\n" for i in range(5))
    f.write_bytes((HEADER + gbk_rows).encode("gbk") + "K9,统一码,上海市浦东新区\n".encode())
    out = run(f)
    assert "created 5" in out and "rejected 1" in out
    (row,) = report(f)
    assert "not valid GB18030/GBK" in row[2] and row[3:] == ["K9", "统一码", "上海市浦东新区"]


def test_utf8_line_that_is_also_valid_gbk_is_rejected_not_imported_as_mojibake(tmp_path):
    f = tmp_path / "mixed-gbk-valid.csv"
    line = "K9,甲方,北京市东城区\n".encode()
    line.decode("gb18030")  # valid GB18030 too: without the check it would import as 鐢叉柟
    gbk_rows = "".join(f"K{i},客户{i},北京市东城区\n" for i in range(5)) + "K8,王,北京\n"
    f.write_bytes((HEADER + gbk_rows).encode("gbk") + line)
    out = run(f)
    assert "created 6" in out and "rejected 1" in out
    (row,) = report(f)
    assert "UTF-8 text in a GB18030/GBK file" in row[2] and row[3:] == ["K9", "甲方", "北京市东城区"]
    assert Customer.objects.get(external_id="K8").name == "王"  # short GBK lines still read as GBK


def test_header_in_the_minority_encoding_is_a_clear_error(tmp_path):
    f = tmp_path / "mixed-header.csv"
    f.write_bytes(HEADER.encode("gbk") + (GOOD + "G2,第二,上海市黄浦区\n").encode())
    message = refused(f)
    assert "header row is not valid UTF-8" in message and "mixes text encodings" in message


def test_gbk_file_is_read_as_gbk(tmp_path):
    f = tmp_path / "gbk.csv"
    f.write_bytes((HEADER + GOOD).encode("gbk"))
    assert "created 1" in run(f)
    assert Customer.objects.get().name == "好客户"


def test_empty_file(tmp_path):
    f = tmp_path / "empty.csv"
    f.write_bytes(b"")
    assert "empty" in refused(f)


def test_header_only(tmp_path):
    f = tmp_path / "header.csv"
    f.write_text(HEADER, encoding="utf-8")
    assert "header but no rows" in refused(f)


def test_missing_required_columns(tmp_path):
    f = tmp_path / "cols.csv"
    f.write_text("名字,地址\n张三,北京市\n", encoding="utf-8")
    message = refused(f)
    assert "外部编号 / external_id" in message and "客户名称 / name" in message and "--map" in message


def test_no_address_column(tmp_path):
    f = tmp_path / "noaddr.csv"
    f.write_text("外部编号,客户名称\nA,张三\n", encoding="utf-8")
    assert "No address column" in refused(f)


def test_ragged_rows_are_rejected_and_the_rest_kept(tmp_path):
    f = tmp_path / "ragged.csv"
    f.write_text(
        HEADER + GOOD + "G2,短行\nG3,长行,上海市,多余\nG4,尾部空格,上海市浦东新区,,\n", encoding="utf-8"
    )
    out = run(f)
    assert "created 2" in out and "rejected 2" in out
    rows = report(f)
    assert [r[0] for r in rows] == ["3", "4"]
    assert "2 cells but the header has 3" in rows[0][2] and "4 cells" in rows[1][2]


def test_a_50_mb_cell_is_rejected_and_the_rest_kept(tmp_path):
    f = tmp_path / "huge.csv"
    with open(f, "w", encoding="utf-8") as out:
        out.write(HEADER + GOOD)
        out.write("G2,大," + "北" * (50 * 1024 * 1024 // 3) + "\n")
        out.write("G3,第三,广州市天河区\n")
    out = run(f)
    assert "created 2" in out and "rejected 1" in out
    (row,) = report(f)
    assert row[0] == "3" and "longer than" in row[2]


def test_duplicate_external_ids_first_row_wins(tmp_path):
    f = tmp_path / "dup.csv"
    f.write_text(
        HEADER + GOOD + "G1,又一个,上海市浦东新区\nG2,第二,广州市天河区\nG2,第二,广州市越秀区\n",
        encoding="utf-8",
    )
    out = run(f)
    assert "created 2" in out and "rejected 2" in out
    assert Customer.objects.get(external_id="G1").name == "好客户"
    assert Address.objects.get(customer__external_id="G2").district.name == "天河区"
    rows = report(f)
    assert [r[0] for r in rows] == ["3", "5"] and "row 2 already has it" in rows[0][2]


def test_unknown_owner(tmp_path, sales):
    f = tmp_path / "owner.csv"
    f.write_text("外部编号,客户名称,地址,负责人\nO1,甲,北京市,sales1\nO2,乙,北京市,ghost\n", encoding="utf-8")
    out = run(f)
    assert "created 1" in out and "rejected 1" in out
    assert "Unknown owner “ghost”" in report(f)[0][2]


@pytest.mark.parametrize(
    ("lat", "lng", "message"),
    [
        ("95", "116.4", "Latitude 95 is out of range"),
        ("116.4", "39.9", "look swapped"),
        ("4865942", "12958000", "projected metres"),
        ("0", "0", "not a real location"),
        ("39.9", "", "Give both"),
        ("北纬39", "116", "decimal degrees"),
        ("39.9", "190", "Longitude 190 is out of range"),
        ("95", "200", "Longitude 200 is out of range"),  # both named, not only the first
    ],
)
def test_bad_coordinates(tmp_path, lat, lng, message):
    f = tmp_path / "coords.csv"
    with open(f, "w", encoding="utf-8", newline="") as out:
        w = csv.writer(out)
        w.writerow(["外部编号", "客户名称", "地址", "纬度", "经度"])
        w.writerow(["C1", "好", "北京市东城区", "39.9", "116.4"])
        w.writerow(["C2", "坏", "北京市东城区", lat, lng])
    out = run(f)
    assert "created 1" in out and "rejected 1" in out
    assert message in report(f)[0][2]


def test_unknown_crs_is_refused(tmp_path):
    f = tmp_path / "x.csv"
    f.write_text(HEADER + GOOD, encoding="utf-8")
    with pytest.raises(CommandError):
        call_command("import_customers", str(f), "--crs", "epsg3857")


def test_formula_cells_are_stored_as_text_and_escaped_in_report_and_export(tmp_path):
    f = tmp_path / "formula.csv"
    with open(f, "w", encoding="utf-8", newline="") as out:
        w = csv.writer(out)
        w.writerow(["外部编号", "客户名称", "手机", "地址", "负责人"])
        w.writerow(["F1", '=HYPERLINK("http://x","y")', "+86 138 0013 8000", "@北京市朝阳区", ""])
        w.writerow(["F2", "-cmd|' /C calc'!A0", "", "北京市", "=evil()"])
    out = run(f)
    assert "created 1" in out and "rejected 1" in out
    c = Customer.objects.get(external_id="F1")
    assert c.name == '=HYPERLINK("http://x","y")' and c.phone == "+86 138 0013 8000"
    (row,) = report(f)
    assert row[4] == "'-cmd|' /C calc'!A0" and row[7] == "'=evil()"
    text = Path(tmp_path / "e.csv")
    call_command("export_customers", "-o", str(text))
    line = text.read_text(encoding="utf-8-sig").splitlines()[1]
    assert "'=HYPERLINK" in line and "'+86 138 0013 8000" in line


def test_not_an_xlsx(tmp_path):
    f = tmp_path / "fake.xlsx"
    f.write_bytes(b"this is not a spreadsheet" * 10)
    assert "not an Excel .xlsx file" in refused(f)
    z = tmp_path / "other.xlsx"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("hello.txt", "hi")
    assert "not an Excel .xlsx workbook" in refused(z)
    old = tmp_path / "old.xls"
    old.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100)
    assert "old Excel .xls" in refused(old)


def _sheet_package(path, rows_xml: str, head: str = ""):
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/workbook.xml", f'<workbook xmlns="{main}"/>')
        zf.writestr(
            "xl/worksheets/sheet1.xml",
            f'<worksheet xmlns="{main}">{head}<sheetData>{rows_xml}</sheetData></worksheet>',
        )
    return path


def _xlsx_row(n: int, *cells: str) -> str:
    return f'<row r="{n}">' + "".join(f'<c t="inlineStr"><is><t>{c}</t></is></c>' for c in cells) + "</row>"


def test_xlsx_broken_mid_sheet_keeps_the_rows_before_and_says_where(tmp_path):
    rows = _xlsx_row(1, "外部编号", "客户名称", "地址") + "".join(
        _xlsx_row(i, f"G{i}", f"客户{i}", "北京市朝阳区建国路88号") for i in range(2, 5)
    )
    f = _sheet_package(
        tmp_path / "broken.xlsx", rows + '<row r="5"><c t="inlineStr"><is><t>G5</is></c></row>'
    )
    out = run(f)
    assert "created 3" in out and "rejected 1" in out
    assert sorted(Customer.objects.values_list("external_id", flat=True)) == ["G2", "G3", "G4"]
    (line,) = report(f)
    assert (
        line[0] == "5" and "cannot be read from this row on" in line[2] and "not well-formed XML" in line[2]
    )


@pytest.mark.parametrize(
    "cells, reason",
    [
        ('<c t="s"><v>5</v></c>', "shared string '5'"),  # the workbook has no string 5
        ('<c r="XFE3"><v>1</v></c>', "outside the sheet's 16384 columns"),
    ],
    ids=["missing-shared-string", "past-column-xfd"],
)
def test_xlsx_cell_that_cannot_be_read_rejects_only_its_row(tmp_path, cells, reason):
    rows = (
        _xlsx_row(1, "外部编号", "客户名称", "地址")
        + _xlsx_row(2, "G2", "客户2", "北京市朝阳区建国路88号")
        + f'<row r="3"><c t="inlineStr"><is><t>G3</t></is></c>{cells}</row>'
        + _xlsx_row(4, "G4", "客户4", "北京市朝阳区建国路88号")
    )
    f = _sheet_package(tmp_path / "s.xlsx", rows)
    out = run(f)
    assert "created 2" in out and "rejected 1" in out
    (line,) = report(f)
    assert line[:2] == ["3", ""] and "A cell of this row cannot be read" in line[2] and reason in line[2]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_writers_shares_of_a_file_hold_every_row_once(tmp_path, fmt):
    """Each writer reads only its share (rows by external id; an XLSX reader passes the rest
    over); together the shares are the file's rows, rejected lines and a break included."""
    from imports.reading import MAX_CELL_CHARS, Share, open_table

    header = ["客户名称", "地址", "外部编号"]  # the id not first: cells before it are read by all
    data = [[f"客户{i}", f"北京市朝阳区建国路{i}号", f"K{i % 40}"] for i in range(120)]
    data[7][2] = ""  # no id
    data[9] = ["", "", ""]  # blank
    data[11] = ["客户", "长" * (MAX_CELL_CHARS + 1), "K11"]  # too long
    if fmt == "csv":
        data[13] = ["客户", "地址", "K13", "多出的格"]  # ragged
        data += [["客户", "地址", "K1"], ["客户", "地址", "K2"]]
        f = tmp_path / "s.csv"
        f.write_text("\n".join(",".join(r) for r in [header, *data]) + "\n", encoding="utf-8")
    else:
        f = _sheet_package(
            tmp_path / "s.xlsx",
            "".join(_xlsx_row(n, *r) for n, r in enumerate([header, *data], start=1))
            + '<row r="200"><c r="C200" t="s"><v>3</v></c></row>'  # no shared strings
            + '<row r="201"><c t="inlineStr"><is><t>断</is></c></row>',  # the sheet breaks
        )
    table = open_table(f)
    everything = list(table.rows())
    problems = [row_no for row_no, _c, problem in everything if problem is not None]
    assert len(everything) == 121 and problems == ([13, 15] if fmt == "csv" else [13, 200, 201])
    for workers in (2, 3):
        shares = [list(table.rows(Share(w, workers, 2))) for w in range(workers)]
        assert all(shares)
        assert sorted((r for s in shares for r in s), key=lambda r: r[0]) == everything
        assert all(
            r[1] is None or Share(w, workers, 2).owns_row(r[1]) for w, s in enumerate(shares) for r in s
        )


def test_xlsx_header_below_the_first_row(tmp_path):
    rows = _xlsx_row(3, "外部编号", "客户名称", "地址") + _xlsx_row(
        4, "G1", "好客户", "北京市朝阳区建国路88号"
    )
    f = _sheet_package(tmp_path / "low.xlsx", rows)
    assert "created 1" in run(f)
    assert Customer.objects.get().name == "好客户"


def test_xlsx_stating_the_whole_sheet_as_its_dimension_is_counted_not_refused(tmp_path):
    rows = _xlsx_row(1, "外部编号", "客户名称", "地址") + "".join(
        _xlsx_row(i, f"G{i}", f"客户{i}", "北京市朝阳区建国路88号") for i in (2, 3)
    )
    f = _sheet_package(tmp_path / "whole.xlsx", rows, head='<dimension ref="A1:C1048576"/>')
    assert "The file has 2 rows; at most 1 rows" in refused(f, "--max-rows", "1")
    assert "created 2" in run(f)


def test_xlsx_zip_bomb_is_refused_without_unpacking(tmp_path):
    f = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/workbook.xml", "<workbook/>")
        with zf.open("xl/worksheets/sheet1.xml", "w") as sheet:
            block = b"\0" * (1 << 20)
            for _ in range(200):
                sheet.write(block)
    assert f.stat().st_size < 2 * 1024 * 1024
    assert "zip bomb" in refused(f)


def test_two_million_rows_are_refused_before_anything_is_written(tmp_path):
    f = tmp_path / "two-million.csv"
    with open(f, "wb") as out:
        out.write(HEADER.encode())
        line = GOOD.encode()
        out.write(line * 2_000_000)
    message = refused(f)
    assert "2,000,000 rows" in message and "at most 1,000,000" in message


def test_max_rows_option_lowers_the_limit(tmp_path):
    f = tmp_path / "three.csv"
    f.write_text(HEADER + GOOD * 3, encoding="utf-8")
    assert "at most 2 rows" in refused(f, "--max-rows", "2")


def test_unknown_category_kind_email_and_region_code(tmp_path, category):
    f = tmp_path / "misc.csv"
    f.write_text(
        "外部编号,客户名称,地址,分类,类型,邮箱,区划代码\n"
        "M1,好,北京市,仓库,企业,a@example.com,\n"
        "M2,坏1,北京市,不存在,,,\n"
        "M3,坏2,北京市,,外星人,,\n"
        "M4,坏3,北京市,,,not-an-email,\n"
        "M5,坏4,北京市,,,,999999\n",
        encoding="utf-8",
    )
    out = run(f)
    assert "created 1" in out and "rejected 4" in out
    reasons = [r[2] for r in report(f)]
    assert "Unknown category" in reasons[0] and "Unknown value" in reasons[1]
    assert "not an email" in reasons[2] and "Unknown region code" in reasons[3]
