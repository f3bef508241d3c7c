"""Webhook deliveries as django.tasks: sent after the change commits, retried with backoff.

With a backend that can schedule (the database backend and `db_worker`), each retry is queued
to run at its time; with one that cannot (thread, immediate), `manage.py webhooks_retry`
(cron, every minute) sends the due ones."""

from django.tasks import default_task_backend, task

from api.webhook_delivery import Retry, deliveries_due, deliveries_send

BATCH = 50  # deliveries a task sends: several workers share a burst, few tasks are queued


@task
def webhook_deliver(*, delivery_ids: list[int]) -> int:
    """Try each delivery once; queue the retries."""
    retries = deliveries_send(delivery_ids=delivery_ids)
    retries_schedule(retries)
    return len(delivery_ids) - len(retries)


def deliveries_enqueue(delivery_ids: list[int]) -> None:
    for start in range(0, len(delivery_ids), BATCH):
        webhook_deliver.enqueue(delivery_ids=delivery_ids[start : start + BATCH])


def retries_schedule(retries: list[Retry]) -> None:
    if not retries or not default_task_backend.supports_defer:
        return  # left RETRYING with next_attempt_at, for webhooks_retry
    for retry in retries:
        webhook_deliver.using(run_after=retry.at).enqueue(delivery_ids=[retry.delivery_id])


def deliveries_retry_due() -> int:
    """Send the retries that are due now (returns how many were tried)."""
    ids = deliveries_due()
    if ids:
        retries_schedule(deliveries_send(delivery_ids=ids))
    return len(ids)
