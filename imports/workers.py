"""The import's writer processes: each validates and writes the rows whose external ids hash to it,
in batches that commit with their checkpoint; forked by the command, spawned as fresh
interpreters (imports.worker_process) by a parent with threads."""

from __future__ import annotations

import dataclasses
import gc
import logging
import os
import threading
import time
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import NamedTuple

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connections, transaction
from django.db.models import Sum
from django.utils import timezone, translation

from imports import worker_process
from imports.columns import map_columns
from imports.models import ImportCheckpoint, ImportJob
from imports.reading import FIRST_ERRORS, Share, Table
from imports.reports import part_path, report_line
from imports.validation import DuplicateTracker, RowValidator
from imports.writing import Counts, write_batch
from maps.cells import map_cells_batched

logger = logging.getLogger(__name__)

# Rows per transaction and checkpoint: the map cells are upserted once per batch, and a
# batch of a 30-character-address file touches most cells of the grid whatever its size.
BATCH_SIZE = getattr(settings, "IMPORT_BATCH_SIZE", 100_000)
CHUNK_SIZE = getattr(settings, "IMPORT_CHUNK_SIZE", 20_000)  # rows in memory at once


def default_batch_size(rows: int) -> int:
    """A tenth of the file, between CHUNK_SIZE and BATCH_SIZE rows: progress (committed with each
    batch) moves at least ten times, and a big file pays for few map-cell upserts."""
    return max(CHUNK_SIZE, min(BATCH_SIZE, rows // 10))


def rows_committed(job: ImportJob) -> int:
    """File rows whose batches have committed, over all the job's workers."""
    return ImportCheckpoint.objects.filter(job=job).aggregate(n=Sum("rows_done"))["n"] or 0


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


class _StreamRow(NamedTuple):
    """One of a worker's file rows after its checkpoint: validated (`row`) or rejected (`errors`)."""

    row_no: int
    row: object  # an ImportRow, or None when rejected
    cells: list[str] | None
    errors: list[tuple[str, str]]


def run_worker(job, worker, workers, *, table, columns, crs, actor, report_base, batch_size, progress=None):
    """Read the file, validate this worker's rows and write them in checkpointed batches.

    A batch (one transaction, one checkpoint) is written in chunks of at most CHUNK_SIZE
    rows, which bound the memory; the map cells of the whole batch are applied once.
    """
    checkpoint, _c = ImportCheckpoint.objects.get_or_create(job=job, worker=worker)
    if checkpoint.finished:
        return Counts.of(checkpoint), checkpoint.first_errors
    writer = _Worker(
        job, worker, workers, checkpoint, table=table, columns=columns, crs=crs, actor=actor,
        report_path=part_path(report_base, worker), batch_size=batch_size, progress=progress,
    )  # fmt: skip
    return writer.run()


class _Worker:
    """One writer's pass over the file: its share of the rows, its report part, its checkpoint."""

    def __init__(self, job, worker, workers, checkpoint, *, table, columns, crs, actor, report_path, batch_size,
                 progress):  # fmt: skip
        self.job, self.worker, self.workers, self.checkpoint = job, worker, workers, checkpoint
        self.table, self.actor, self.progress = table, actor, progress
        self.dry_run = job.dry_run
        self.validator = RowValidator(columns, table.headers, crs=crs)
        self.duplicates = DuplicateTracker()
        self.share = Share(worker, workers, columns.index["external_id"]) if workers > 1 else None
        self.batch_size = batch_size
        self.chunk_size = max(1, min(CHUNK_SIZE, batch_size))
        self.counts = Counts.of(checkpoint)
        self.first_errors: list[dict] = list(checkpoint.first_errors)
        self.report = open(report_path, "r+b" if report_path.exists() else "w+b")  # noqa: SIM115
        self.report.truncate(checkpoint.report_offset)
        self.report.seek(checkpoint.report_offset)

    def run(self):
        stream = self.rows()
        try:
            with _few_collections():
                done = False
                while not done:
                    done = self.write_transaction(stream)
                    self.after_transaction()
        finally:
            self.report.close()
        return self.counts, self.first_errors

    def rows(self):
        """This worker's rows after the checkpoint, validated (_StreamRow)."""
        resume_after = self.checkpoint.last_row
        validator, duplicates = self.validator, self.duplicates
        for row_no, cells, problem in self.table.rows(self.share):
            if problem is not None:
                if row_no > resume_after:
                    yield _StreamRow(row_no, None, cells, [("", problem)])
                continue
            row, errors = validator.validate(row_no, cells)
            if row is not None:
                dup = duplicates.check(row)
                if dup:
                    row, errors = None, [(validator.column("external_id"), dup)]
            if row_no > resume_after:  # before it: committed, only the duplicate tracker needed it
                yield _StreamRow(row_no, row, cells, errors)

    def write_transaction(self, stream) -> bool:
        """Write one batch in chunks and commit it with its checkpoint; True after the last.

        A dry run writes nothing but the checkpoint (how far the validation got).
        """
        in_batch, done = 0, False
        with transaction.atomic():
            if not self.dry_run:
                _bulk_load_settings()
            with nullcontext() if self.dry_run else map_cells_batched() as cells:
                while in_batch < self.batch_size and not done:
                    rows, rejected, done = self.next_chunk(stream)
                    in_batch += len(rows) + len(rejected)
                    self.write_chunk(rows, rejected, cells)
                    if self.progress is not None and self.workers == 1:
                        self.progress(self.counts.rows, self.table.estimated_rows)
                # Deferred foreign-key checks now, before the cell upsert locks its rows: a
                # concurrent writer then waits for the commit only, not for the checks too.
                if not self.dry_run:
                    _check_constraints_now()
            self.save_checkpoint(done)
        return done

    def next_chunk(self, stream) -> tuple[list, list[_StreamRow], bool]:
        """(valid rows, rejected rows, whether the stream ended) of at most chunk_size rows."""
        rows, rejected = [], []
        for item in stream:
            self.checkpoint.last_row = item.row_no
            if item.row is None:
                rejected.append(item)
            else:
                rows.append(item.row)
            if len(rows) + len(rejected) >= self.chunk_size:
                return rows, rejected, False
        return rows, rejected, True

    def write_chunk(self, rows, rejected: list, cells) -> None:
        """Write the valid rows; report the rejected ones (and those the write path refused)."""
        batch_counts = Counts()
        rejected = [(r.row_no, r.cells, r.errors) for r in rejected]
        if rows:
            batch_counts, rejects = write_batch(
                rows,
                customer_fields=self.validator.customer_fields,
                actor=self.actor,
                map_cells=cells,
                dry_run=self.dry_run,
            )
            rejected.extend(rejects)
        batch_counts.rejected = len(rejected)
        rejected.sort(key=lambda p: p[0])
        for row_no, row_cells, errors in rejected:
            self.report.write(report_line(row_no, row_cells, errors))
            if len(self.first_errors) < FIRST_ERRORS:
                self.first_errors.append(
                    {"row": row_no, "errors": [{"column": c, "reason": m} for c, m in errors]}
                )
        self.counts.add(batch_counts)

    def save_checkpoint(self, done: bool) -> None:
        """The report part on disk, then the checkpoint, in the batch's transaction."""
        self.report.flush()
        os.fsync(self.report.fileno())
        checkpoint, counts = self.checkpoint, self.counts
        checkpoint.rows_done = counts.rows
        checkpoint.created, checkpoint.updated = counts.created, counts.updated
        checkpoint.unchanged, checkpoint.rejected = counts.unchanged, counts.rejected
        checkpoint.located = counts.located
        checkpoint.report_offset = self.report.tell()
        checkpoint.first_errors = self.first_errors
        checkpoint.finished = done
        checkpoint.save()

    def after_transaction(self) -> None:
        """Statistics for the planner (first worker), the job's progress or heartbeat."""
        if self.worker == 0 and not self.dry_run:
            _analyze_grown_tables()
        if self.workers == 1:
            ImportJob.objects.filter(pk=self.job.pk).update(
                rows_done=self.counts.rows, updated_at=timezone.now()
            )
        else:  # the parent sums the checkpoints; this is the heartbeat of a live worker
            ImportJob.objects.filter(pk=self.job.pk).update(updated_at=timezone.now())
        if self.progress is not None:
            self.progress(self.counts.rows, self.table.estimated_rows)


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


def run_parallel(job, workers, *, progress=None, **ctx):
    """Several processes, each owning the external ids that hash to it (so no two write one customer).

    A single-threaded process (the command) forks them: they share the parser's region
    index, built once here. A process with other threads (a web server, a task thread)
    must not fork (a lock another thread holds would stay locked in the child), so it
    starts fresh interpreters (imports.worker_process) that set Django up on the same
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
        spec = _spawn_spec(ctx)
        procs = [worker_process.start(job.pk, w, workers, spec) for w in range(workers)]
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
        run_worker(job, worker, workers, **ctx)
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
            run_worker(
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
