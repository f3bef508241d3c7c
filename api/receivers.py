"""Webhook events from the write paths' signals: customers.signals (sent inside the writing
transaction: the deliveries commit with the change) and addresses.signals.addresses_committed
(sent after commit). Deliveries are queued as tasks once the transaction commits.

customer.merged is declared for when a merge service announces merges; nothing sends it yet.
"""

import logging

from django.db import transaction
from django.dispatch import receiver

from addresses.signals import addresses_committed
from api.tasks import deliveries_enqueue
from api.webhook_events import (
    address_events,
    customer_events,
    customers_deleted_events,
    deliveries_create,
    subscribed_endpoints,
)
from customers.signals import customers_changed, customers_deleting

logger = logging.getLogger(__name__)


def _emit(events_of, endpoints) -> None:
    ids = deliveries_create(list(events_of), endpoints)
    if ids:
        transaction.on_commit(lambda: deliveries_enqueue(ids))


def _wanted(endpoints) -> set[str]:
    return {event for e in endpoints for event in e.events}


@receiver(addresses_committed, dispatch_uid="api.webhooks.addresses")
def addresses_written(sender, *, created_ids, updated_ids, **kwargs):
    endpoints = subscribed_endpoints()
    wanted = _wanted(endpoints)
    if not any(e.startswith("address.") for e in wanted):
        return
    # Runs after the write committed: a failure here must not turn a saved change into an error
    # answer; it is logged with the ids whose events were not queued.
    try:
        with transaction.atomic():
            _emit(address_events(created_ids=created_ids, updated_ids=updated_ids, wanted=wanted), endpoints)
    except Exception:
        logger.exception(
            "webhook events not queued for addresses %s / %s", created_ids[:20], updated_ids[:20]
        )


@receiver(customers_changed, dispatch_uid="api.webhooks.customers")
def customers_written(sender, *, customer_ids, fields, created=False, **kwargs):
    endpoints = subscribed_endpoints()
    event = "customer.created" if created else "customer.updated"
    if event not in _wanted(endpoints):
        return
    _emit(customer_events(customer_ids=customer_ids, created=created, fields=set(fields)), endpoints)


@receiver(customers_deleting, dispatch_uid="api.webhooks.customers_deleting")
def customers_deleted(sender, *, customer_ids, **kwargs):
    endpoints = subscribed_endpoints()
    if "customer.deleted" not in _wanted(endpoints):
        return
    _emit(customers_deleted_events(customer_ids=customer_ids), endpoints)
