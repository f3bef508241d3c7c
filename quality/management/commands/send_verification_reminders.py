"""Send each salesperson this week's digest of addresses to verify (run weekly by a scheduler;
running it again the same week sends nobody a second e-mail)."""

from django.core.management.base import BaseCommand

from quality.services import reminders_send


class Command(BaseCommand):
    help = "E-mail salespeople the addresses they have to verify (once a week each)."

    def add_arguments(self, parser):
        parser.add_argument("--base-url", default="", help="the site's address, for the link in the e-mail")

    def handle(self, *args, base_url="", **options):
        sent = reminders_send(base_url=base_url.rstrip("/"))
        self.stdout.write(f"reminders sent: {sent}")
