"""Import orders from a CSV or XLSX file, keyed by the customer's external id.

Columns (header names in English or Chinese, any order): number/订单号, customer/客户编号
(the customer's external id), date/下单日期 (YYYY-MM-DD), amount/金额, currency/币种 (default
the base currency), status/状态 (default open), delivery_address/收货地址ID (optional: an id of
one of the customer's addresses; without it, the customer's primary address).

Idempotent: the order number is the key, so importing a file again updates what changed and
adds nothing twice. Resumable: each batch commits with a checkpoint (FILE.orders-checkpoint);
a re-run after a crash starts after the last committed batch (--restart ignores it). Rejected
rows go to a CSV report (--report) with their row number and reasons.
"""

import csv
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from analysis.services import OrderInput, orders_upsert
from analysis.tasks import scores_recompute_task
from imports.reading import ImportFileError, formula_unescape, open_table

COLUMNS = {
    "number": ("number", "order number", "order_number", "订单号", "订单编号"),
    "customer": ("customer", "external id", "external_id", "customer external id", "客户编号", "外部编号"),
    "date": ("date", "order date", "ordered_on", "下单日期", "日期"),
    "amount": ("amount", "金额"),
    "currency": ("currency", "币种"),
    "status": ("status", "状态"),
    "delivery_address": (
        "delivery_address",
        "delivery address",
        "delivery address id",
        "收货地址id",
        "收货地址",
    ),
}
REQUIRED = ("number", "customer", "date", "amount")
MAX_ORDER_ROWS = 20_000_000  # order files run longer than customer files (IMPORT_MAX_ROWS)


def column_positions(headers: list[str]) -> dict[str, int]:
    """Where each known column is in the header (case and spacing ignored)."""
    names = [h.strip().lower() for h in headers]
    found = {}
    for key, aliases in COLUMNS.items():
        for alias in aliases:
            if alias in names:
                found[key] = names.index(alias)
                break
    return found


class Command(BaseCommand):
    help = "Import orders (CSV or XLSX) keyed by the customer's external id; idempotent and resumable."

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument("--batch-size", type=int, default=20_000)
        parser.add_argument(
            "--max-rows", type=int, default=MAX_ORDER_ROWS, help="refuse larger files (0: no limit)"
        )
        parser.add_argument("--dry-run", action="store_true", help="validate every row, write nothing")
        parser.add_argument("--report", help="write rejected rows to this CSV file")
        parser.add_argument("--restart", action="store_true", help="ignore the checkpoint of an earlier run")
        parser.add_argument("--no-rescore", action="store_true", help="do not recompute scores afterwards")

    def handle(self, *args, path, batch_size, max_rows, dry_run, report, restart, no_rescore, **options):
        started = time.perf_counter()
        try:
            table = open_table(path, max_rows=max_rows or None)
        except ImportFileError as exc:
            raise CommandError(str(exc)) from exc
        at = column_positions(table.headers)
        missing = [c for c in REQUIRED if c not in at]
        if missing:
            raise CommandError(f"missing columns: {', '.join(missing)} (header: {table.headers})")
        checkpoint = Path(f"{path}.orders-checkpoint")
        done_through = (
            0 if restart or dry_run or not checkpoint.exists() else int(checkpoint.read_text() or 0)
        )
        totals = {"created": 0, "updated": 0, "unchanged": 0, "rejected": 0}
        rejected: list[tuple[int, str]] = []
        batch: list[tuple[int, OrderInput]] = []

        def flush():
            if not batch:
                return
            with transaction.atomic():
                result = orders_upsert(items=[item for _n, item in batch], dry_run=dry_run)
                if not dry_run:
                    checkpoint.write_text(str(batch[-1][0]))
            for key in ("created", "updated", "unchanged"):
                totals[key] += getattr(result, key)
            for index, errors in sorted(result.errors.items()):
                rejected.append((batch[index][0], " ".join(errors)))
            totals["rejected"] += len(result.errors)
            if options["verbosity"] > 1:
                self.stdout.write(f"  row {batch[-1][0]:,}: {totals}")
            batch.clear()

        for row_no, cells, problem in table.rows():
            if row_no <= done_through:
                continue
            if problem or cells is None:
                rejected.append((row_no, problem or "unreadable row"))
                totals["rejected"] += 1
                continue
            batch.append((row_no, self._item(cells, at)))
            if len(batch) >= batch_size:
                flush()
        flush()
        if not dry_run and checkpoint.exists():
            checkpoint.unlink()  # finished: a later run of the same file starts from the top
        if report:
            with open(report, "w", newline="", encoding="utf-8") as f:
                writer = csv.writer(f)
                writer.writerow(["row", "errors"])
                writer.writerows(rejected)
        if not dry_run and not no_rescore and (totals["created"] or totals["updated"]):
            scores_recompute_task.enqueue()
        elapsed = time.perf_counter() - started
        self.stdout.write(
            f"{'Checked' if dry_run else 'Imported'} {path} in {elapsed:.1f} s: {totals['created']:,} created, "
            f"{totals['updated']:,} updated, {totals['unchanged']:,} unchanged, {totals['rejected']:,} rejected"
            + (f" (from row {done_through + 1:,}, after the checkpoint)" if done_through else "")
        )
        for row_no, errors in rejected[:10]:
            self.stdout.write(f"  row {row_no}: {errors}")

    @staticmethod
    def _item(cells: list[str], at: dict[str, int]) -> OrderInput:
        def cell(key):
            i = at.get(key)
            return formula_unescape(cells[i].strip()) if i is not None and i < len(cells) else ""

        address = cell("delivery_address")
        return OrderInput(
            number=cell("number"),
            customer_external_id=cell("customer") or None,
            ordered_on=cell("date"),
            amount=cell("amount"),
            currency=cell("currency"),
            status=cell("status"),
            delivery_address_id=int(address)
            if address.isdigit()
            else (-1 if address else None),  # -1: rejected
        )
