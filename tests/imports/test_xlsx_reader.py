"""The import's .xlsx reader: the values openpyxl gives, from workbooks as Excel, LibreOffice,
openpyxl and scripts write them, in flat memory; broken or hostile workbooks are XlsxErrors."""

import datetime
import re
import zipfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook
from openpyxl.cell.rich_text import CellRichText, TextBlock
from openpyxl.cell.text import InlineFont

from imports.xlsx_reader import SharedStrings, XlsxError, first_worksheet

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
WORKSHEET = f"{REL}/worksheet"


def trimmed(rows):
    """(row number, values) without trailing empty cells, empty rows left out: openpyxl pads
    rows to the sheet's width and yields rows missing from the file, the reader does not."""
    out = []
    for n, values, *problem in rows:
        assert not any(problem)
        values = list(values)
        while values and values[-1] is None:
            values.pop()
        if values:
            out.append((n, values))
    return out


def openpyxl_rows(path):
    wb = load_workbook(path, read_only=True, data_only=True)
    try:
        return trimmed(enumerate(wb.worksheets[0].iter_rows(values_only=True), start=1))
    finally:
        wb.close()


def reader_rows(path, **kw):
    return trimmed(first_worksheet(path, **kw).rows())


CONTENT_TYPES = (
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>'
)
ROOT_RELS = (
    f'<Relationships xmlns="{PKG}"><Relationship Id="rId1" '
    f'Type="{REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
)


def package(path, sheet: str, *, shared=None, styles=None, workbook=None, rels=None, parts=None):
    """A minimal workbook of hand-written parts (the sheet's XML without its declaration)."""
    workbook = workbook or (
        f'<workbook xmlns="{MAIN}" xmlns:r="{REL}"><sheets><sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>'
    )
    rels = rels or (
        f'<Relationships xmlns="{PKG}"><Relationship Id="rId1" Type="{WORKSHEET}" Target="worksheets/sheet1.xml"/>'
        f'<Relationship Id="rId8" Type="{REL}/sharedStrings" Target="sharedStrings.xml"/>'
        f'<Relationship Id="rId9" Type="{REL}/styles" Target="styles.xml"/></Relationships>'
    )
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("[Content_Types].xml", CONTENT_TYPES)
        zf.writestr("_rels/.rels", ROOT_RELS)
        zf.writestr("xl/workbook.xml", workbook)
        zf.writestr("xl/_rels/workbook.xml.rels", rels)
        zf.writestr("xl/worksheets/sheet1.xml", sheet)
        if shared is not None:
            zf.writestr("xl/sharedStrings.xml", f'<sst xmlns="{MAIN}">{shared}</sst>')
        if styles is not None:
            zf.writestr("xl/styles.xml", f'<styleSheet xmlns="{MAIN}">{styles}</styleSheet>')
        for name, text in (parts or {}).items():
            zf.writestr(name, text)
    return path


def sheet(rows: str, head: str = "") -> str:
    return f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{MAIN}">{head}<sheetData>{rows}</sheetData></worksheet>'


def test_reads_what_openpyxl_reads_from_a_workbook_with_shared_strings_dates_and_gaps(tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.append(["外部编号", "客户名称", "手机", "地址", "金额", "有效", "日期"])
    ws.append(
        ["A1", "深圳 客户", 13800138000, "广东省深圳市南山区科技路1号", 12.5, True, datetime.date(2024, 3, 1)]
    )
    ws.append(["A2", None, -7, "  前后空格  ", 1e-7, False, datetime.datetime(2025, 1, 2, 3, 4, 5)])
    ws.cell(row=6, column=2, value="隔了几行")  # rows 4 and 5 missing, a sparse row
    ws.cell(row=6, column=9, value="远处的列")
    ws.cell(row=7, column=1, value="=1+1")  # a formula without a cached value reads as empty
    ws.cell(row=8, column=1, value=CellRichText(["富", TextBlock(InlineFont(b=True), "文本")]))
    wb.create_sheet("second").append(["not", "read"])
    wb.save(tmp_path / "w.xlsx")
    expected = openpyxl_rows(tmp_path / "w.xlsx")
    assert reader_rows(tmp_path / "w.xlsx") == expected
    assert expected[1][1][:3] == ["A1", "深圳 客户", 13800138000]
    assert expected[2][1][6] == datetime.datetime(2025, 1, 2, 3, 4, 5)
    assert [n for n, _v in expected] == [1, 2, 3, 6, 8]
    assert expected[-1][1] == ["富文本"]


def test_reads_its_own_export(tmp_path):
    from imports.exporting import HEADERS, xlsx_chunks

    values = ["E1", "客户 <甲&乙>", "enterprise", "potential", "", "13800138000", "", "delivery", "地址"]
    values += [""] * 12
    values[16], values[17] = "113.93", "-22.5"
    path = tmp_path / "e.xlsx"
    path.write_bytes(b"".join(xlsx_chunks([(values, None)] * 3, rows=3)))
    ws = first_worksheet(path)
    assert ws.dimension_rows() == 4
    rows = reader_rows(path)
    assert rows == openpyxl_rows(path)
    assert (
        rows[0] == (1, HEADERS) and rows[1][1][1] == "客户 <甲&乙>" and rows[1][1][16:18] == [113.93, -22.5]
    )


XML_TEXT = st.text(
    st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff")
    | st.sampled_from("\n\t"),
    max_size=30,
).filter(lambda s: not s.startswith("=") and not re.search("_x[0-9A-Fa-f]{4}_", s))
CELL = (
    st.none()
    | XML_TEXT
    | st.integers(-(10**15), 10**15)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.booleans()
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(grid=st.lists(st.lists(CELL, max_size=8), min_size=1, max_size=8), write_only=st.booleans())
def test_any_grid_openpyxl_writes_reads_back_as_openpyxl_reads_it(tmp_path, grid, write_only):
    wb = Workbook(write_only=write_only)
    ws = wb.create_sheet() if write_only else wb.active
    for row in grid:
        ws.append(row)
    path = tmp_path / "p.xlsx"
    wb.save(path)
    assert reader_rows(path) == openpyxl_rows(path)


def shares(path, key_column: int, parts: int) -> list[list]:
    """Each part's rows when every row goes to part hash(repr of its key cell) % parts."""
    return [
        list(first_worksheet(path).rows(key_column, lambda v, p=p: hash(repr(v)) % parts == p))
        for p in range(parts)
    ]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    grid=st.lists(st.lists(CELL, max_size=6), min_size=1, max_size=10),
    key_column=st.integers(0, 6),
    parts=st.integers(1, 3),
)
def test_rows_split_by_a_key_cell_fall_to_exactly_one_part_each(tmp_path, grid, key_column, parts):
    """Every row lands in one part, whole and in file order, wherever the key cell lies and
    whether the row has it or not; a passed-over row leaves the next row's reading intact."""
    wb = Workbook()
    for row in grid:
        wb.active.append(row)
    path = tmp_path / "k.xlsx"
    wb.save(path)
    everything = list(first_worksheet(path).rows())
    split = shares(path, key_column, parts)
    for p, rows in enumerate(split):
        assert rows == [
            r
            for r in everything
            if hash(repr(r[1][key_column] if key_column < len(r[1]) else None)) % parts == p
        ]
    assert sorted(r[0] for rows in split for r in rows) == [r[0] for r in everything]


def test_a_passed_over_row_without_references_keeps_the_numbering_and_columns(tmp_path):
    rows = (
        '<x:row><x:c t="inlineStr"><x:is><x:t>k1</x:t></x:is></x:c><x:c t="inlineStr"><x:is><x:t>跳过</x:t></x:is></x:c>'
        '<x:c t="s"><x:v>0</x:v></x:c></x:row>'
        '<x:row><x:c><x:v>1</x:v></x:c><x:c t="inlineStr"><x:is><x:t>留下</x:t></x:is></x:c></x:row>'
        '<x:row r="7"><x:c r="B7" t="s"><x:v>9</x:v></x:c></x:row>'  # no key cell, a missing string
    )
    path = package(
        tmp_path / "p.xlsx",
        f'<x:worksheet xmlns:x="{MAIN}"><x:sheetData>{rows}</x:sheetData></x:worksheet>',
        shared="<si><t>甲</t></si>",
    )
    kept = list(first_worksheet(path).rows(0, lambda v: v != "k1"))
    assert kept == [
        (2, [1, "留下"], None),
        (7, [None, None], "a cell refers to shared string '9', which the workbook lacks"),
    ]
    asked = []
    list(first_worksheet(path).rows(0, lambda v: asked.append(v) or True))
    assert asked == ["k1", 1, None]  # once a row, None for a row without the key cell


def test_hand_written_sheet_prefixes_missing_references_phonetics_escapes_and_types(tmp_path):
    """What other writers do: a namespace prefix, cells and rows without references, Japanese
    phonetic hints (not text), _xHHHH_ escapes, errors, cached formula text, ISO dates."""
    xml = (
        f'<x:worksheet xmlns:x="{MAIN}"><x:sheetData>'
        '<x:row><x:c t="inlineStr"><x:is><x:t>甲</x:t></x:is></x:c><x:c><x:v>2</x:v></x:c></x:row>'
        '<x:row r="3"><x:c r="C3" t="inlineStr"><x:is><x:r><x:t>東</x:t></x:r><x:r><x:t xml:space="preserve"> 京</x:t></x:r>'
        '<x:rPh sb="0" eb="1"><x:t>トウ</x:t></x:rPh></x:is></x:c>'
        '<x:c t="s"><x:v>0</x:v></x:c><x:c t="e"><x:v>#N/A</x:v></x:c>'
        '<x:c t="str"><x:f>A1&amp;"!"</x:f><x:v>甲!</x:v></x:c><x:c t="b"><x:v>1</x:v></x:c>'
        '<x:c t="d"><x:v>2024-02-29T12:00:00</x:v></x:c><x:c><x:v></x:v></x:c><x:c><x:v>1.5E3</x:v></x:c></x:row>'
        "</x:sheetData></x:worksheet>"
    )
    shared = "<si><t>a_x000D__x000A_b_x005F_x0041_</t><rPh><t>ignored</t></rPh></si>"
    path = package(tmp_path / "h.xlsx", xml, shared=shared)
    assert reader_rows(path) == [
        (1, ["甲", 2]),
        (
            3,
            [
                None,
                None,
                "東 京",
                "a\r\nb_x0041_",
                "#N/A",
                "甲!",
                True,
                datetime.datetime(2024, 2, 29, 12),
                None,
                1500.0,
            ],
        ),
    ]
    assert first_worksheet(path).dimension_rows() is None


@pytest.mark.filterwarnings("ignore:Workbook contains no default style")
def test_date_styles_and_the_1904_calendar(tmp_path):
    styles = (
        '<numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy&quot;年&quot;m&quot;月&quot;d&quot;日&quot;"/></numFmts>'
        '<cellXfs count="4"><xf numFmtId="0"/><xf numFmtId="164"/><xf numFmtId="14"/><xf numFmtId="46"/></cellXfs>'
    )
    rows = '<row r="1"><c r="A1" s="1"><v>1</v></c><c r="B1" s="2"><v>2</v></c><c r="C1" s="3"><v>1.5</v></c><c r="D1" s="0"><v>1</v></c></row>'
    workbook = f'<workbook xmlns="{MAIN}" xmlns:r="{REL}"><workbookPr date1904="1"/><sheets><sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>'
    path = package(tmp_path / "d.xlsx", sheet(rows), styles=styles, workbook=workbook)
    assert reader_rows(path) == [
        (1, [datetime.datetime(1904, 1, 2), datetime.datetime(1904, 1, 3), datetime.timedelta(days=1.5), 1])
    ]
    assert reader_rows(path) == openpyxl_rows(path)


def test_first_sheet_is_the_workbooks_first_worksheet_not_a_chart_or_the_first_file(tmp_path):
    workbook = (
        f'<workbook xmlns="{MAIN}" xmlns:r="{REL}"><sheets><sheet name="Chart" sheetId="1" r:id="rId1"/>'
        '<sheet name="Data" sheetId="2" r:id="rId2"/><sheet name="Old" sheetId="3" r:id="rId3"/></sheets></workbook>'
    )
    rels = (
        f'<Relationships xmlns="{PKG}">'
        f'<Relationship Id="rId1" Type="{REL}/chartsheet" Target="chartsheets/sheet1.xml"/>'
        f'<Relationship Id="rId2" Type="{WORKSHEET}" Target="/xl/worksheets/data.xml"/>'
        f'<Relationship Id="rId3" Type="{WORKSHEET}" Target="worksheets/sheet1.xml"/></Relationships>'
    )
    data = sheet('<row r="1"><c r="A1" t="inlineStr"><is><t>数据</t></is></c></row>')
    path = package(
        tmp_path / "c.xlsx", sheet(""), workbook=workbook, rels=rels, parts={"xl/worksheets/data.xml": data}
    )
    assert reader_rows(path) == [(1, ["数据"])]


def test_text_longer_than_the_limit_is_cut_one_past_it(tmp_path):
    long = "长" * 5000
    rows = f'<row r="1"><c r="A1" t="inlineStr"><is><t>{long}</t></is></c><c r="B1" t="s"><v>0</v></c></row>'
    path = package(tmp_path / "l.xlsx", sheet(rows), shared=f"<si><t>{long}</t></si>")
    assert reader_rows(path, max_chars=100) == [(1, ["长" * 101, "长" * 101])]
    assert reader_rows(path) == [(1, [long, long])]


def test_a_document_type_declaration_is_refused(tmp_path):
    laughs = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
        f'<worksheet xmlns="{MAIN}"><sheetData><row><c t="inlineStr"><is><t>&lol2;</t></is></c></row></sheetData></worksheet>'
    )
    path = package(tmp_path / "b.xlsx", laughs)
    with pytest.raises(XlsxError, match="document type"):
        list(first_worksheet(path).rows())


def test_broken_xml_mid_sheet_raises_after_the_rows_before_it(tmp_path):
    good = "".join(f'<row r="{i}"><c r="A{i}"><v>{i}</v></c></row>' for i in range(1, 4))
    path = package(tmp_path / "x.xlsx", sheet(good + '<row r="4"><c r="A4"><v>4</v></row>'))
    rows = first_worksheet(path).rows()
    assert [next(rows)[0] for _ in range(3)] == [1, 2, 3]
    with pytest.raises(XlsxError, match="not well-formed XML.*line 1"):
        next(rows)


@pytest.mark.parametrize(
    ("parts", "message"),
    [
        ({"xl/workbook.xml": f'<workbook xmlns="{MAIN}"><sheets/></workbook>'}, "no sheets"),
        ({"xl/workbook.xml": "<workbook"}, "not well-formed"),
        ({"xl/sharedStrings.xml": "<sst><si><t>a</t></si>"}, "not well-formed"),
    ],
)
def test_broken_workbook_parts(tmp_path, parts, message):
    path = tmp_path / "w.xlsx"
    with zipfile.ZipFile(path, "w") as zf:
        base = {
            "xl/workbook.xml": f'<workbook xmlns="{MAIN}" xmlns:r="{REL}"><sheets><sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>',
            "xl/_rels/workbook.xml.rels": f'<Relationships xmlns="{PKG}"><Relationship Id="rId1" Type="{WORKSHEET}" Target="worksheets/sheet1.xml"/></Relationships>',
            "xl/worksheets/sheet1.xml": sheet(""),
        }
        for name, text in {**base, **parts}.items():
            zf.writestr(name, text)
    with pytest.raises(XlsxError, match=message):
        first_worksheet(path)


def test_a_cell_referring_to_a_missing_shared_string(tmp_path):
    path = package(
        tmp_path / "s.xlsx",
        sheet(
            '<row r="1"><c r="A1" t="s"><v>7</v></c></row><row r="2"><c r="A2" t="s"><v>0</v></c><c r="B2"><v>2</v></c></row>'
        ),
        shared="<si><t>a</t></si>",
    )
    assert list(first_worksheet(path).rows()) == [
        (1, [None], "a cell refers to shared string '7', which the workbook lacks"),
        (2, ["a", 2], None),  # the rows after it read on
    ]


def test_a_cell_past_column_xfd_is_a_problem_of_its_row_only(tmp_path):
    path = package(
        tmp_path / "c.xlsx",
        sheet(
            '<row r="1"><c r="A1"><v>1</v></c><c r="XFD1"><v>2</v></c><c r="XFE1"><v>3</v></c></row>'
            '<row r="2"><c r="A2"><v>4</v></c></row>'
        ),
    )
    (first, second) = first_worksheet(path).rows()
    assert first[0] == 1 and first[1][0] == 1 and first[1][16383] == 2 and len(first[1]) == 16384
    assert first[2] == "a cell lies outside the sheet's 16384 columns"
    assert second == (2, [4], None)  # the rows after it read on


def test_shared_strings_index_like_a_list_across_blocks():
    texts = [f"文本{i}" * (i % 5) for i in range(SharedStrings.BLOCK * 2 + 3)]
    table = SharedStrings()
    for t in texts:
        table.append(t)
    table.finish()
    assert len(table) == len(texts)
    for i in (0, 1, SharedStrings.BLOCK - 1, SharedStrings.BLOCK, len(texts) - 1):
        assert table[i] == texts[i]
    for bad in (-1, len(texts), len(texts) + SharedStrings.BLOCK):
        with pytest.raises(IndexError):
            table[bad]


@pytest.mark.parametrize("read_bytes", [5, 64, 1 << 20])
def test_count_rows_counts_row_tags_across_read_boundaries_and_prefixes(tmp_path, monkeypatch, read_bytes):
    from imports import xlsx_reader

    monkeypatch.setattr(xlsx_reader, "_READ_BYTES", read_bytes)
    plain = (
        "".join(f'<row r="{i}"><c r="A{i}"><v>{i}</v></c></row>' for i in range(1, 51)) + "<row/><rowBreaks/>"
    )
    path = package(tmp_path / "p.xlsx", sheet(plain))
    assert first_worksheet(path).count_rows() == 51
    prefixed = f'<x:worksheet xmlns:x="{MAIN}"><x:sheetData>' + "<x:row>\n<x:c><x:v>1</x:v></x:c></x:row>" * 7
    path = package(tmp_path / "x.xlsx", prefixed + "</x:sheetData></x:worksheet>")
    assert first_worksheet(path).count_rows() == 7
