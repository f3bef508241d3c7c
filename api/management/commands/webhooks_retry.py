from django.core.management.base import BaseCommand

from api.tasks import deliveries_retry_due


class Command(BaseCommand):
    help = (
        "Send the webhook retries that are due (needed only with a task backend that cannot schedule "
        "tasks, such as the thread backend; run it every minute from cron)."
    )

    def handle(self, *args, **options):
        tried = deliveries_retry_due()
        self.stdout.write(f"{tried} webhook deliveries retried")
