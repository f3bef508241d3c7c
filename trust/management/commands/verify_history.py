from django.core.management.base import BaseCommand
from django.db.models import Count
from tqdm import tqdm

from addresses.models import AddressVersion
from trust.history import history_verify


class Command(BaseCommand):
    help = (
        "Verify the whole address history: keyed hashes, chain links, heads and addresses. "
        "Exit status 0 when intact, 1 when anything was found (each finding is printed)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--progress", choices=("bar", "none"), default="bar")
        parser.add_argument("--limit", type=int, default=200, help="findings printed (all are counted)")
        parser.add_argument(
            "--checkpoint",
            action="store_true",
            help="when intact, keep a keyed digest of every chain's head (run daily): later checks "
            "find rows written by then that were deleted, even with their address and head",
        )

    def handle(self, *args, progress, limit, checkpoint, **options):
        bar = None
        if progress == "bar":
            total = AddressVersion.objects.aggregate(n=Count("pk"))["n"]
            bar = tqdm(total=total, unit="versions", file=self.stderr._out, mininterval=0.5)
        try:
            report = history_verify(progress=bar.update if bar else None, checkpoint=checkpoint)
        finally:
            if bar:
                bar.close()
        for finding in report.problems[:limit]:
            self.stdout.write(f"BROKEN {finding}")
        if len(report.problems) > limit:
            self.stdout.write(f"… and {len(report.problems) - limit:,} more")
        summary = f"{report.versions:,} versions of {report.addresses:,} addresses checked in {report.seconds:.1f} s: "
        if report.ok:
            self.stdout.write(self.style.SUCCESS(summary + "intact"))
            if report.checkpoint is not None:
                cp = report.checkpoint
                self.stdout.write(
                    f"checkpoint {cp.pk}: {cp.addresses:,} addresses, {cp.versions:,} versions, {cp.digest}"
                )
            return
        self.stdout.write(self.style.ERROR(summary + f"{len(report.problems):,} problems"))
        raise SystemExit(1)
