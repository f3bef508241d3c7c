"""Remove trash items past the restore period (settings.TRASH_DAYS) for good: run daily."""

from django.conf import settings
from django.core.management.base import BaseCommand

from customers.services import trash_purge


class Command(BaseCommand):
    help = "Remove deleted customers and addresses older than TRASH_DAYS from the trash for good."

    def handle(self, *args, **options):
        removed = trash_purge()
        self.stdout.write(f"removed {removed} trash item(s) older than {settings.TRASH_DAYS} days")
