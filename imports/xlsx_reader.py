"""Read the first worksheet of an .xlsx workbook as a stream of rows, fast and in flat memory.

The import reads a workbook once per writer process; openpyxl's read-only mode spends
about 150 µs a row of 20 cells on it, this reader (expat callbacks over the sheet XML as
it inflates) about 50, and under 20 on a row it is told to pass over (another writer's).
Values come back as openpyxl gives them with `data_only=True` (its number, boolean, date
and error rules, its date-format detection): text as str, numbers as int or float, dates
as datetime, formulas as their cached result.
Text in the _xHHHH_ escapes of ECMA-376 (how Excel stores control characters) is decoded.

Pure code: no database, no Django. The zip-bomb and size checks are the caller's
(`imports.reading._check_xlsx`); here a document type declaration is refused (OOXML has none;
entity tricks need one) and malformed XML is an XlsxError naming the part and line.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from xml.parsers import expat

from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format, is_timedelta_format
from openpyxl.utils.datetime import CALENDAR_MAC_1904, CALENDAR_WINDOWS_1900, from_excel, from_ISO8601

MAIN_NAMESPACES = (
    "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "http://purl.oclc.org/ooxml/spreadsheetml/main",  # ISO 29500 strict
)
# The r:id attribute of a workbook's <sheet>, by expanded name, transitional or strict.
_REL_ID = {
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships id",
    "http://purl.oclc.org/ooxml/officeDocument/relationships id",
}
MAX_COLUMNS = 16384  # Excel's XFD
_READ_BYTES = 1 << 20
_ESCAPE_RE = re.compile(r"_x([0-9A-Fa-f]{4})_")
_ROOT_RE = re.compile(rb"<([A-Za-z_][\w.-]*:)?worksheet[\s/>]")

# Element codes of the sheet and shared-string XML, by expanded name ("namespace local").
_ROW, _C, _V, _IS, _T, _RPH, _SI, _SHEET_DATA, _DIMENSION = range(9)
_CODES = {
    f"{ns} {local}": code
    for ns in MAIN_NAMESPACES
    for local, code in (
        ("row", _ROW),
        ("c", _C),
        ("v", _V),
        ("is", _IS),
        ("t", _T),
        ("rPh", _RPH),
        ("si", _SI),
        ("sheetData", _SHEET_DATA),
        ("dimension", _DIMENSION),
    )
}


class SharedStrings:
    """A workbook's shared-string table, indexed like a list, in blocks of 4,096 strings joined
    into one str each: Excel stores every text cell here, and a million rows' worth as separate
    str objects would take two and a half times the memory (each writer process holds one;
    4.5 million strings: 160 MB, against 414 MB as a list)."""

    BLOCK = 4096

    def __init__(self):
        self._blocks: list[str] = []
        self._ends: list[array] = []
        self._pending: list[str] = []

    def append(self, text: str) -> None:
        self._pending.append(text)
        if len(self._pending) == self.BLOCK:
            self._seal()

    def _seal(self) -> None:
        ends, position = array("Q"), 0
        for text in self._pending:
            position += len(text)
            ends.append(position)
        self._blocks.append("".join(self._pending))
        self._ends.append(ends)
        self._pending = []

    def finish(self) -> SharedStrings:
        if self._pending:
            self._seal()
        return self

    def __len__(self) -> int:
        return len(self._blocks) * self.BLOCK - (self.BLOCK - len(self._ends[-1]) if self._ends else 0)

    def __getitem__(self, i: int) -> str:
        if i < 0:
            raise IndexError(i)
        block, j = divmod(i, self.BLOCK)
        ends = self._ends[block]  # IndexError past the end, as a list
        return self._blocks[block][ends[j - 1] if j else 0 : ends[j]]


class XlsxError(ValueError):
    """The workbook cannot be read; the message says why, in words a user can act on."""


@dataclass
class Worksheet:
    """The first worksheet of a workbook, ready to stream (`rows`)."""

    path: Path
    part: str
    shared_strings: SharedStrings = field(repr=False)
    date_styles: frozenset[int]
    timedelta_styles: frozenset[int]
    epoch: object
    max_chars: int | None

    def dimension_rows(self) -> int | None:
        """The last row number of the sheet's stated dimension (`<dimension ref="A1:U1001"/>`),
        read from the head of the sheet; None if the sheet states none."""
        found: list[int | None] = []

        class Done(Exception):
            pass

        def start(name, attrs):
            code = _CODES.get(name)
            if code == _DIMENSION:
                ref = attrs.get("ref", "").rpartition(":")[2]
                digits = ref.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz$").replace("$", "")
                found.append(int(digits) if digits.isdigit() else None)
                raise Done
            if code == _SHEET_DATA:
                raise Done

        parser = _parser(self.part)
        parser.StartElementHandler = start
        try:
            with zipfile.ZipFile(self.path) as zf, zf.open(self.part) as f:
                while chunk := f.read(1 << 16):
                    parser.Parse(chunk, False)
        except Done:
            pass
        except expat.ExpatError as exc:
            raise _malformed(self.part, exc) from exc
        return found[0] if found else None

    def count_rows(self) -> int:
        """The number of <row> elements in the sheet, empty ones included, counted in the XML's
        bytes as they inflate (no parsing: a few seconds for a million rows)."""
        count, carry, row_tag = 0, b"", None
        try:
            with zipfile.ZipFile(self.path) as zf, zf.open(self.part) as f:
                while chunk := f.read(_READ_BYTES):
                    data = carry + chunk
                    if row_tag is None:
                        root = _ROOT_RE.search(data)
                        if root is None:
                            carry = data[-4096:]
                            continue
                        row_tag = re.compile(b"<" + re.escape(root.group(1) or b"") + rb"row[\s/>]")
                    # Tags wholly inside the carried tail were counted with the chunk before.
                    count += len(row_tag.findall(data)) - len(row_tag.findall(carry))
                    carry = data[-32:]
        except (zipfile.BadZipFile, EOFError, OSError) as exc:
            raise XlsxError(f"the workbook is damaged ({exc})") from exc
        return count

    def rows(
        self, key_column: int | None = None, keep: Callable[[object], bool] | None = None
    ) -> Iterator[tuple[int, list, str | None]]:
        """(row number, values, problem) of every row present in the sheet, in file order;
        values[i] is column i's (None where the row has no cell). Text longer than `max_chars`
        is cut to max_chars + 1 characters, so a caller sees it is too long without holding
        all of it. `problem` names a cell the row cannot hold (one referring to a shared string
        the workbook lacks, or lying past the last column; its value is None), else None.

        With `keep`, each row is asked about once, by the value of its first cell in
        `key_column` (None if it has none), and a row keep() refuses is left out; it is passed
        over as soon as that cell is read: expat still reads the rest of the row, but no
        handler of this reader runs on it (about a third of a full row's cost). The import's
        writers each take their share of the rows by external id this way.
        """
        # One function of closures, not a class: expat calls these handlers for every cell, and a
        # closure's variables read faster than an instance's attributes (a handler's body ~15%
        # faster, measured with timeit); the reader is half of an XLSX import's Python time.
        shared = self.shared_strings
        dates, timedeltas, epoch = self.date_styles, self.timedelta_styles, self.epoch
        limit = self.max_chars + 1 if self.max_chars is not None else None
        done: list[tuple[int, list, str | None]] = []
        values: list = []
        text: list[str] = []
        codes = _CODES
        columns: dict[str, int] = {}
        row_no, col, kind, style, value, collecting, phonetic, length = 0, -1, "n", 0, None, False, 0, 0
        problem: str | None = None
        key = key_column if keep is not None else -1
        decided = False  # keep() was asked about this row

        def start(name, attrs):
            nonlocal row_no, col, kind, style, value, collecting, phonetic, length, problem, decided
            code = codes.get(name)
            if code == _C:
                ref = attrs.get("r")
                if ref:
                    letters = ref.rstrip("0123456789")
                    col = columns.get(letters)
                    if col is None:
                        col = columns[letters] = _column_index(letters)
                else:
                    col += 1
                kind = attrs.get("t", "n")
                s = attrs.get("s")
                style = int(s) if s and s.isdigit() else 0
                value = None
            elif code == _V or code == _T:
                if not phonetic:
                    text.clear()
                    collecting = True
                    length = 0
            elif code == _ROW:
                ref = attrs.get("r")
                row_no = int(ref) if ref and ref.isdigit() else row_no + 1
                col = -1
                values.clear()
                problem, decided = None, False
            elif code == _RPH:
                phonetic += 1
            elif code == _IS:
                value = ""

        def characters(data):
            nonlocal length
            if collecting:
                if limit is not None:
                    if length >= limit:
                        return
                    data = data[: limit - length]
                    length += len(data)
                text.append(data)

        def end(name):
            nonlocal value, collecting, phonetic, problem, decided
            code = codes.get(name)
            if code == _C:
                if value is not None:
                    if kind == "inlineStr":
                        if "_x" in value:
                            value = formula_unescape(value)
                    elif kind == "s":
                        try:
                            value = shared[int(value)]
                        except (ValueError, IndexError):
                            problem = f"a cell refers to shared string {value!r}, which the workbook lacks"
                            value = None
                    else:
                        value = _cell_value(value, kind, style, dates, timedeltas, epoch)
                if col >= MAX_COLUMNS or col < 0:
                    problem = f"a cell lies outside the sheet's {MAX_COLUMNS} columns"
                    return
                n = len(values)
                if col == n:
                    values.append(value)
                elif col > n:
                    values.extend([None] * (col - n))
                    values.append(value)
                else:
                    values[col] = value
                if col == key and not decided:
                    decided = True
                    if not keep(value):
                        # Not this caller's row: no handler runs until the row ends.
                        parser.StartElementHandler = parser.CharacterDataHandler = None
                        parser.EndElementHandler = pass_over
            elif code == _V:
                collecting = False
                value = "".join(text)
            elif code == _T:
                if not phonetic:
                    collecting = False
                    value = (value or "") + "".join(text)
            elif code == _ROW:
                if decided or key < 0 or keep(None):  # a row without the key cell: keep(None)
                    done.append((row_no, values[:], problem))
            elif code == _RPH:
                phonetic -= 1

        def pass_over(name):
            if codes.get(name) == _ROW:
                parser.StartElementHandler = start
                parser.EndElementHandler = end
                parser.CharacterDataHandler = characters

        parser = _parser(self.part)
        parser.StartElementHandler = start
        parser.EndElementHandler = end
        parser.CharacterDataHandler = characters
        try:
            with zipfile.ZipFile(self.path) as zf, zf.open(self.part) as f:
                while chunk := f.read(_READ_BYTES):
                    parser.Parse(chunk, False)
                    yield from done
                    done.clear()
                parser.Parse(b"", True)
        except expat.ExpatError as exc:
            yield from done  # the rows the chunk held before the break
            raise _malformed(self.part, exc) from exc
        except (zipfile.BadZipFile, EOFError, OSError) as exc:
            raise XlsxError(f"the workbook is damaged ({exc})") from exc
        yield from done


def first_worksheet(path: str | Path, *, max_chars: int | None = None) -> Worksheet:
    """The workbook's first worksheet (in the workbook's order, chart sheets skipped), with
    its shared strings and date styles loaded. Raises XlsxError if it has none or the
    parts it needs are missing or malformed."""
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            workbook = _read_part(zf, names, "xl/workbook.xml")
            if workbook is None:
                raise XlsxError("it has no xl/workbook.xml")
            rels = _relationships(zf, names, "xl/workbook.xml")
            sheets: list[str] = []
            epoch = CALENDAR_WINDOWS_1900
            for local, attrs in _elements(workbook, "xl/workbook.xml", {"sheet", "workbookPr"}):
                if local == "workbookPr":
                    if attrs.get("date1904", "").lower() in ("1", "true"):
                        epoch = CALENDAR_MAC_1904
                    continue
                rel_id = next((v for k, v in attrs.items() if k in _REL_ID), None)
                target, kind = rels.get(rel_id, (None, ""))
                if target and kind.endswith("/worksheet"):
                    sheets.append(target)
            if not rels and "xl/worksheets/sheet1.xml" in names:
                sheets.append("xl/worksheets/sheet1.xml")  # a workbook without relationships
            if not sheets:
                raise XlsxError("the workbook has no sheets")
            if sheets[0] not in names:
                raise XlsxError(f"its first sheet ({sheets[0]}) is missing")
            by_kind = {kind.rpartition("/")[2]: target for target, kind in rels.values()}
            shared = _shared_strings(
                zf, by_kind.get("sharedStrings", "xl/sharedStrings.xml"), names, max_chars
            )
            dates, timedeltas = _date_styles(zf, names, by_kind.get("styles", "xl/styles.xml"))
    except (zipfile.BadZipFile, EOFError, OSError, KeyError) as exc:
        raise XlsxError(f"the workbook is damaged ({exc})") from exc
    return Worksheet(path, sheets[0], shared, dates, timedeltas, epoch, max_chars)


def _cell_value(raw: str, kind: str, style: int, dates, timedeltas, epoch):
    """A cell's value from its raw <v> text, as openpyxl gives it (data_only); shared and
    inline strings are looked up by the caller."""
    if kind == "n":
        if not raw:
            return None
        try:
            number = float(raw) if ("." in raw or "E" in raw or "e" in raw) else int(raw)
        except ValueError:
            return raw
        if style in dates:
            try:
                return from_excel(number, epoch, timedelta=style in timedeltas)
            except (OverflowError, ValueError):
                return "#VALUE!"
        return number
    if kind == "str":
        return formula_unescape(raw)
    if kind == "b":
        return raw.strip() in ("1", "true")
    if kind == "d":
        try:
            return from_ISO8601(raw)
        except (ValueError, TypeError):
            return raw
    return raw or None  # "e": the error text (#N/A ...)


def formula_unescape(text: str) -> str:
    if "_x" not in text:
        return text
    return _ESCAPE_RE.sub(lambda m: chr(int(m.group(1), 16)), text)


def _column_index(ref: str) -> int:
    """0-based column of a cell reference ("A1" 0, "AB7" 27)."""
    n = 0
    for ch in ref:
        o = ord(ch)
        if 65 <= o <= 90:
            n = n * 26 + o - 64
        elif 97 <= o <= 122:
            n = n * 26 + o - 96
        elif ch != "$":
            break
    return n - 1


def _parser(part: str):
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.buffer_text = True
    parser.buffer_size = 1 << 16

    def refuse_doctype(*_args):
        raise XlsxError(f"{part} declares a document type, which workbooks never do")

    parser.StartDoctypeDeclHandler = refuse_doctype  # entities can only be declared in one
    return parser


def _malformed(part: str, exc: expat.ExpatError) -> XlsxError:
    return XlsxError(f"{part} is not well-formed XML ({expat.ErrorString(exc.code)}, line {exc.lineno})")


def _read_part(zf: zipfile.ZipFile, names: set[str], name: str) -> bytes | None:
    return zf.read(name) if name in names else None


def _elements(data: bytes, part: str, wanted: set[str], inside: str | None = None) -> list[tuple[str, dict]]:
    """(local name, attributes) of the elements named in `wanted`, in document order; with
    `inside`, only those whose parent has that local name."""
    found: list[tuple[str, dict]] = []
    stack: list[str] = []

    def start(name, attrs):
        local = name.rpartition(" ")[2]
        if local in wanted and (inside is None or (stack and stack[-1] == inside)):
            found.append((local, attrs))
        stack.append(local)

    def end(_name):
        stack.pop()

    parser = _parser(part)
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        raise _malformed(part, exc) from exc
    return found


def _relationships(zf, names: set[str], part: str) -> dict[str, tuple[str, str]]:
    """Relationship id -> (target part name, type) of a part's .rels."""
    folder, base = posixpath.split(part)
    rels_name = posixpath.join(folder, "_rels", base + ".rels")
    data = _read_part(zf, names, rels_name)
    if data is None:
        return {}
    out = {}
    for _local, attrs in _elements(data, rels_name, {"Relationship"}):
        target = attrs.get("Target", "")
        if attrs.get("TargetMode") == "External" or not target:
            continue
        target = (
            target.lstrip("/")
            if target.startswith("/")
            else posixpath.normpath(posixpath.join(folder, target))
        )
        out[attrs.get("Id")] = (target, attrs.get("Type", ""))
    return out


def _shared_strings(zf, name: str, names: set[str], max_chars: int | None) -> SharedStrings:
    """The shared-string table: each <si>'s text (its runs joined, phonetic hints left out)."""
    if name not in names:
        return SharedStrings().finish()
    strings = SharedStrings()
    text: list[str] = []
    limit = max_chars + 1 if max_chars is not None else None
    state = {"text": False, "rph": 0, "si": []}

    def start(name, attrs):
        code = _CODES.get(name)
        if code == _T and not state["rph"]:
            text.clear()
            state["text"] = True
        elif code == _SI:
            state["si"] = []
        elif code == _RPH:
            state["rph"] += 1

    def characters(data):
        if state["text"]:
            text.append(data)

    def end(name):
        code = _CODES.get(name)
        if code == _T and not state["rph"]:
            state["text"] = False
            state["si"].append("".join(text))
        elif code == _SI:
            value = formula_unescape("".join(state["si"]))
            strings.append(value[:limit] if limit is not None else value)
        elif code == _RPH:
            state["rph"] -= 1

    parser = _parser(name)
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = characters
    try:
        with zf.open(name) as f:
            while chunk := f.read(_READ_BYTES):
                parser.Parse(chunk, False)
            parser.Parse(b"", True)
    except expat.ExpatError as exc:
        raise _malformed(name, exc) from exc
    return strings.finish()


def _date_styles(zf, names: set[str], name: str) -> tuple[frozenset[int], frozenset[int]]:
    """Indexes of the cell formats (cellXfs) whose number format shows a date, and of those
    showing a duration, by openpyxl's rules."""
    data = _read_part(zf, names, name)
    if data is None:
        return frozenset(), frozenset()
    custom = {}
    for _local, attrs in _elements(data, name, {"numFmt"}, inside="numFmts"):
        try:
            custom[int(attrs.get("numFmtId", ""))] = attrs.get("formatCode", "")
        except ValueError:
            continue
    dates, timedeltas = set(), set()
    for i, (_local, attrs) in enumerate(_elements(data, name, {"xf"}, inside="cellXfs")):
        try:
            fmt_id = int(attrs.get("numFmtId", "0"))
        except ValueError:
            continue
        fmt = custom.get(fmt_id, BUILTIN_FORMATS.get(fmt_id))
        if is_date_format(fmt):
            dates.add(i)
        if is_timedelta_format(fmt):
            timedeltas.add(i)
    return frozenset(dates), frozenset(timedeltas)
