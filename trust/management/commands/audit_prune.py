from django.conf import settings
from django.core.management.base import BaseCommand

from trust.services import audit_prune


class Command(BaseCommand):
    help = "Delete audit entries older than AUDIT_RETENTION_DAYS (run daily)."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=None, help="override AUDIT_RETENTION_DAYS")

    def handle(self, *args, days, **options):
        days = settings.AUDIT_RETENTION_DAYS if days is None else days
        deleted = audit_prune(days=days)
        self.stdout.write(f"{deleted:,} audit entries older than {days} days deleted")
