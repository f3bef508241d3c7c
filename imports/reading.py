"""Reading import files: CSV (UTF-8, UTF-8 with BOM, GBK/GB18030, detected; a line in another
encoding rejected alone) and XLSX (imports.xlsx_reader, zip-bomb checked), as a stream of rows
that keeps memory flat."""

from __future__ import annotations

import codecs
import csv
import logging
import re
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.utils.translation import gettext as _

from imports.xlsx_reader import XlsxError, first_worksheet

logger = logging.getLogger(__name__)

MAX_ROWS = getattr(settings, "IMPORT_MAX_ROWS", 1_000_000)
MAX_CELL_CHARS = getattr(settings, "IMPORT_MAX_CELL_CHARS", 4096)
FIRST_ERRORS = 20  # rejected rows shown on the page (all of them are in the report)
MAX_COLUMNS = getattr(settings, "IMPORT_MAX_COLUMNS", 1000)
MAX_HEADER_CHARS = 4 * 1024**2  # read whole, so a refused header is described by its real width


MAX_XLSX_UNCOMPRESSED = getattr(settings, "IMPORT_MAX_XLSX_UNCOMPRESSED", 2 * 1024**3)
MAX_XLSX_RATIO = 150  # real sheets compress 5-30x; a bomb compresses 1000x
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_SURROGATE_RE = re.compile("[\udc80-\udcff]")


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


def formula_unescape(value: str) -> str:
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
        key = formula_unescape(external_id.strip()).encode("utf-8", "replace")
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
                        % {"encoding": encoding_label(self.encoding)},
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
                if "\x00" in joined:
                    yield (
                        row_no,
                        [c.replace("\x00", "") for c in cells],
                        _("A cell holds a NUL character (\\0), which the database cannot store; remove it."),
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


def encoding_label(encoding: str | None) -> str:
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
    _check_text(path)
    encoding = detect_encoding(path)
    with open(path, encoding=encoding, errors="replace", newline="") as f:
        first = f.readline(MAX_HEADER_CHARS)
    if not first.strip():
        raise ImportFileError(_("The file is empty."))
    if len(first) == MAX_HEADER_CHARS and not first.endswith("\n"):
        raise ImportFileError(
            _("The header row is longer than %(n)s characters; is this really a CSV file?")
            % {"n": f"{MAX_HEADER_CHARS:,}"}
        )
    if "\ufffd" in first:  # the header is in the minority encoding of a mixed file
        raise ImportFileError(
            _(
                "The header row is not valid %(encoding)s, the text encoding of most of the file "
                "(the file mixes text encodings); save it again as UTF-8."
            )
            % {"encoding": encoding_label(encoding)}
        )
    delimiter = max((",", ";", "\t"), key=first.count)
    csv.field_size_limit(MAX_HEADER_CHARS)
    headers = next(csv.reader([first], delimiter=delimiter))
    if len(headers) > MAX_COLUMNS:
        raise ImportFileError(
            _(
                "The header row has %(n)s columns; at most %(max)s are imported. Remove the columns you do not need."
            )
            % {"n": f"{len(headers):,}", "max": f"{MAX_COLUMNS:,}"}
        )
    lines = _count_lines(path)
    table = Table(path, "csv", encoding, headers, max(0, lines - 1), delimiter)
    if max_rows and lines - 1 > max_rows:
        # Lines over-count rows only when cells hold line breaks: count records exactly.
        records = sum(1 for _r in table.rows())
        if records > max_rows:
            raise _too_many(records, max_rows)
        table.estimated_rows = records
    return table


_CONTROL_BYTES = bytes(b for b in range(32) if b not in b"\t\n\r\x0c")


def _check_text(path: Path) -> None:
    """Refuse UTF-16 and binary files for what they are, before the text encoding is guessed
    (a UTF-16 or binary file is neither valid UTF-8 nor GBK, and was described as the latter)."""
    with open(path, "rb") as f:
        sample = f.read(8192)
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or _looks_utf16(sample):
        raise ImportFileError(
            _(
                "The file is UTF-16 text (Excel's “Unicode text”); save it as “CSV UTF-8” "
                "or as an Excel workbook (.xlsx)."
            )
        )
    controls = len(sample) - len(sample.translate(None, _CONTROL_BYTES))
    if controls > max(2, len(sample) // 50):
        raise ImportFileError(
            _(
                "The file is not text: it holds binary data (an image, an archive or a program?). "
                "Import a CSV file (UTF-8 or GBK) or an Excel workbook (.xlsx)."
            )
        )


def _looks_utf16(sample: bytes) -> bool:
    """UTF-16 without a byte-order mark: each ASCII character (commas, line breaks, digits) has a
    NUL byte beside it, always on the same side; binary data has NULs on both sides."""
    sample = sample[: len(sample) // 2 * 2]
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    return even + odd >= max(2, len(sample) // 50) and min(even, odd) * 10 <= max(even, odd)


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
