"""Import customers and their addresses from a CSV or XLSX file (see imports/jobs.py)."""

import sys
import time

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from geo.choices import CoordinateSystem
from imports.columns import FIELDS, parse_mapping
from imports.jobs import job_for_file, run_import
from imports.reading import MAX_ROWS, ImportFileError
from imports.selectors import column_preset_find, column_presets
from imports.workers import BATCH_SIZE, CHUNK_SIZE, rows_committed


class Command(BaseCommand):
    help = (
        "Import customers and addresses from CSV (UTF-8, UTF-8 with BOM, GBK/GB18030) or XLSX. "
        "Upserts by external id, writes rejected rows to a report, resumes after an interruption."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="the .csv or .xlsx file")
        parser.add_argument(
            "--map",
            action="append",
            default=[],
            metavar="COLUMN=FIELD",
            help=f"read COLUMN as FIELD (fields: {', '.join(FIELDS)}; FIELD '-' ignores the column)",
        )
        parser.add_argument(
            "--preset",
            help="read the columns as another system's export names them: salesforce, hubspot, zoho, "
            "fxiaoke, or the name of a preset saved on the upload page (--map still applies on top)",
        )
        parser.add_argument(
            "--crs",
            default="wgs84",
            choices=CoordinateSystem.values,
            help="coordinate system of the lat/lng columns",
        )
        parser.add_argument("--dry-run", action="store_true", help="validate everything, write nothing")
        parser.add_argument("--report", help="where to write rejected rows (default: FILE.rejected.csv)")
        parser.add_argument(
            "--batch-size",
            type=int,
            help=f"rows per transaction and checkpoint (default: a tenth of the file, "
            f"{CHUNK_SIZE:,} to {BATCH_SIZE:,})",
        )
        parser.add_argument("--workers", type=int, default=1, help="parallel writer processes")
        parser.add_argument(
            "--max-rows",
            type=int,
            default=MAX_ROWS,
            help="refuse files with more rows (0: no limit)",
        )
        parser.add_argument("--actor", help="username recorded in the address history")
        parser.add_argument("--progress", choices=("auto", "bar", "log", "none"), default="auto")

    def handle(
        self,
        *args,
        file,
        map,
        preset,
        crs,
        dry_run,
        report,
        batch_size,
        workers,
        max_rows,
        actor,
        progress,
        **options,
    ):
        actor_user = None
        if actor:
            actor_user = get_user_model().objects.filter(username=actor).first()
            if actor_user is None:
                raise CommandError(_("No user with the username “%(name)s”.") % {"name": actor})
        try:
            mapping = {**_preset_mapping(preset, actor_user), **parse_mapping(map)}
            opts = {"map": mapping, "crs": crs, "max_rows": max_rows, "batch_size": batch_size}
            job = job_for_file(file, options=opts, actor=actor_user, dry_run=dry_run)
        except (ImportFileError, OSError) as exc:
            raise CommandError(str(exc)) from exc
        report = report or (f"{file}.validation.csv" if dry_run else f"{file}.rejected.csv")
        done = 0 if dry_run else rows_committed(job)
        if done:
            self.stdout.write(
                _("Resuming the interrupted import of this file (%(done)s rows done).")
                % {"done": f"{done:,}"}
            )
            if job.workers and job.workers != workers:
                self.stdout.write(
                    _(
                        "It started with --workers %(workers)s; it continues with %(workers)s "
                        "(each worker resumes its own share of the rows)."
                    )
                    % {"workers": job.workers}
                )
        reporter = _Progress(
            self.stderr, progress, label=_("validating") if dry_run else _("importing"), first_done=done
        )
        try:
            result = run_import(job, actor=actor_user, report_path=report, progress=reporter, workers=workers)
        except ImportFileError as exc:
            reporter.close()
            raise CommandError(str(exc)) from exc
        reporter.close()
        if result.ignored_columns:
            self.stdout.write(
                _("Ignored columns: %(columns)s") % {"columns": ", ".join(result.ignored_columns)}
            )
        self.stdout.write(result.summary())
        if result.report_path:
            label = _("Problems found: %(path)s") if dry_run else _("Rejected rows: %(path)s")
            self.stdout.write(label % {"path": result.report_path})


def _preset_mapping(key: str | None, user) -> dict[str, str]:
    if not key:
        return {}
    found = column_preset_find(user=user, key=key)
    if found is None:
        names = ", ".join(p.key if ":" not in p.key else p.name for p in column_presets(user=user))
        raise CommandError(_("No preset “%(key)s”; presets: %(names)s.") % {"key": key, "names": names})
    return dict(found.mapping)


class _Progress:
    """tqdm bar on a terminal (rows/s, ETA); a plain log line every few seconds otherwise."""

    def __init__(self, stream, mode, label, first_done=0):
        self.stream = stream
        self.label = label
        if mode == "auto":
            mode = "bar" if getattr(stream, "isatty", lambda: False)() or sys.stderr.isatty() else "log"
        self.mode = mode
        self.bar = None
        self.started = time.perf_counter()
        self.last_log = 0.0
        self.last_done = None
        self.first_done = first_done  # rows already done when this run started (a resume)

    def __call__(self, done, total):
        if self.mode == "none":
            return
        if self.mode == "bar":
            if self.bar is None:
                from tqdm import tqdm

                self.bar = tqdm(
                    total=total,
                    initial=self.first_done,
                    unit=" rows",
                    unit_scale=True,
                    desc=self.label,
                    file=sys.stderr,
                    smoothing=0.1,
                )
            self.bar.update(done - self.bar.n)
            return
        now = time.perf_counter()
        if done == self.last_done or (now - self.last_log < 5 and done != total):
            return
        self.last_log, self.last_done = now, done
        elapsed = now - self.started
        rate = (done - self.first_done) / elapsed if elapsed else 0
        pct = f"{100 * done / total:.0f}%" if total else "?"
        if not rate:  # nothing done in this run yet: no speed, no ETA to guess
            self.stream.write(
                _("%(label)s: %(done)s/%(total)s rows (%(pct)s)")
                % {"label": self.label, "done": f"{done:,}", "total": f"{total or 0:,}", "pct": pct}
            )
            return
        eta = (total - done) / rate if total else 0
        self.stream.write(
            _("%(label)s: %(done)s/%(total)s rows (%(pct)s), %(rate)s rows/s, ETA %(eta)s s")
            % {
                "label": self.label,
                "done": f"{done:,}",
                "total": f"{total or 0:,}",
                "pct": pct,
                "rate": f"{rate:,.0f}",
                "eta": f"{eta:.0f}",
            }
        )

    def close(self):
        if self.bar is not None:
            self.bar.close()
