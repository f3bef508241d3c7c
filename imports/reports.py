"""The import's report of rejected rows: row number, column, reason and the original values, in a
UTF-8-with-BOM CSV, formula-escaped; one part per worker, merged in row order at the end."""

from __future__ import annotations

import codecs
import csv
import heapq
import io
import logging
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings

from imports.models import ImportJob
from imports.reading import MAX_CELL_CHARS, formula_escape

logger = logging.getLogger(__name__)

# -- the run -------------------------------------------------------------------


REPORT_HEADER_PREFIX = ["行号 row", "列 column", "原因 reason"]


def report_line(row_no: int, cells: list[str] | None, errors: list[tuple[str, str]]) -> bytes:
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


def default_report_path(job: ImportJob) -> Path:
    base = Path(settings.MEDIA_ROOT) / "imports" / f"job-{job.pk}"
    return base / ("validation-report.csv" if job.dry_run else "rejected-rows.csv")


def part_path(report_base: Path, worker: int) -> Path:
    return report_base.with_name(report_base.name + f".part{worker}")


def merge_reports(report_path: Path, headers: list[str], workers: int) -> None:
    """Join the workers' report parts in row order, under one header, UTF-8 with BOM."""
    parts = [part_path(report_path, w) for w in range(workers)]
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
