"""Webhook events: what changed, as payloads, queued as one delivery per subscribed endpoint.

Event payloads follow Standard Webhooks: {"type", "timestamp", "data"}; `data` has the shape
of the API's answers (api.payloads). Reads here are by id, for every endpoint alike: an
endpoint is registered by a manager, who sees every customer.
"""

import json
import uuid
from collections.abc import Sequence

from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from addresses.models import Address, AddressVersion
from api.choices import WebhookEvent
from api.models import WebhookDelivery, WebhookEndpoint
from api.payloads import address_data, customer_data
from api.selectors import api_addresses
from customers.models import Customer

CHUNK = 1000


def subscribed_endpoints() -> list[WebhookEndpoint]:
    """Active endpoints (few: loaded whole, the events they want compared in Python)."""
    return list(WebhookEndpoint.objects.filter(is_active=True).only("pk", "events"))


def new_message_id() -> str:
    return "msg_" + uuid.uuid4().hex


def _plain(data: dict) -> dict:
    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))


def deliveries_create(events: Sequence[tuple[str, dict]], endpoints: Sequence[WebhookEndpoint]) -> list[int]:
    """One pending delivery per (event, endpoint that wants it); returns their ids."""
    now = timezone.now()
    stamp = now.isoformat()
    rows = []
    for event, data in events:
        payload = {"type": event, "timestamp": stamp, "data": _plain(data)}
        for endpoint in endpoints:
            if event in endpoint.events:
                rows.append(
                    WebhookDelivery(
                        endpoint_id=endpoint.pk,
                        message_id=new_message_id(),
                        event=event,
                        payload=payload,
                        committed_at=now,
                    )
                )
    created = WebhookDelivery.objects.bulk_create(rows, batch_size=CHUNK)
    if created and created[0].pk is None:  # backends that return no ids
        ids = [r.message_id for r in rows]
        return list(WebhookDelivery.objects.filter(message_id__in=ids).values_list("pk", flat=True))
    return [d.pk for d in created]


def _chunks(ids: Sequence[int]):
    for start in range(0, len(ids), CHUNK):
        yield list(ids[start : start + CHUNK])


def address_events(*, created_ids: Sequence[int], updated_ids: Sequence[int], wanted: set[str]):
    """address.created / updated / verified events for a committed write batch."""
    if WebhookEvent.ADDRESS_CREATED in wanted:
        for ids in _chunks(created_ids):
            for a in api_addresses(Address.objects.filter(pk__in=ids)).order_by("pk"):
                yield WebhookEvent.ADDRESS_CREATED, address_data(a)
    if wanted & {WebhookEvent.ADDRESS_UPDATED, WebhookEvent.ADDRESS_VERIFIED}:
        for ids in _chunks(updated_ids):
            addresses = list(api_addresses(Address.objects.filter(pk__in=ids)).order_by("pk"))
            verified = _just_verified(addresses) if WebhookEvent.ADDRESS_VERIFIED in wanted else set()
            for a in addresses:
                data = address_data(a)
                if WebhookEvent.ADDRESS_UPDATED in wanted:
                    yield WebhookEvent.ADDRESS_UPDATED, data
                if a.pk in verified:
                    yield WebhookEvent.ADDRESS_VERIFIED, data


def _just_verified(addresses: list[Address]) -> set[int]:
    """Addresses whose latest change set their verified date."""
    current = {a.pk: a.version for a in addresses if a.verified_at is not None}
    if not current:
        return set()
    rows = AddressVersion.objects.filter(address_id__in=list(current)).values_list(
        "address_id", "version", "changed_fields"
    )
    return {
        pk for pk, version, changed in rows if current[pk] == version and "verified_at" in (changed or ())
    }


def customer_events(*, customer_ids: Sequence[int], created: bool, fields: set[str]):
    """customer.created / customer.updated events."""
    event = WebhookEvent.CUSTOMER_CREATED if created else WebhookEvent.CUSTOMER_UPDATED
    for ids in _chunks(list(customer_ids)):
        for c in Customer.objects.filter(pk__in=ids).order_by("pk"):
            data = customer_data(c)
            if not created:
                data["changed_fields"] = sorted(f.removesuffix("_id") for f in fields)
            yield event, data


def customers_deleted_events(*, customer_ids: Sequence[int]):
    """customer.deleted events, read before the rows go."""
    for ids in _chunks(list(customer_ids)):
        for pk, name, external_id in Customer.objects.filter(pk__in=ids).values_list(
            "pk", "name", "external_id"
        ):
            yield WebhookEvent.CUSTOMER_DELETED, {"id": pk, "name": name, "external_id": external_id}
