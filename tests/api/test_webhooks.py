"""Webhooks against a small receiver on 127.0.0.1: signed payloads, retries with the same
message id, the delivery log, disabling, and URLs that are refused."""

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from addresses.services import address_create, address_update
from api.choices import DeliveryStatus
from api.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from api.services import webhook_endpoint_create, webhook_redeliver
from api.tasks import deliveries_retry_due
from api.webhook_delivery import backoff
from customers.services import customer_create, customer_delete, customer_update

pytestmark = pytest.mark.django_db(transaction=True)


class Receiver:
    """Records each request; answers the statuses queued in `answers` (200 once they run out)."""

    def __init__(self):
        self.requests, self.answers = [], []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.requests.append(({k.lower(): v for k, v in self.headers.items()}, body.decode()))
                status = outer.answers.pop(0) if outer.answers else 200
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"ok" if status < 300 else b"try later")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def events(self):
        return [json.loads(body)["type"] for _headers, body in self.requests]


@pytest.fixture
def receiver(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True
    r = Receiver()
    yield r
    r.server.shutdown()


@pytest.fixture
def endpoint(receiver, manager):
    return webhook_endpoint_create(
        actor=manager,
        url=receiver.url,
        events=[
            "customer.created",
            "customer.updated",
            "customer.deleted",
            "address.created",
            "address.updated",
            "address.verified",
        ],
    )


def test_changes_are_delivered_signed_after_commit(receiver, endpoint, sales):
    customer = customer_create(name="甲公司", owner=sales)
    address = address_create(customer=customer, district_code="440305", detail="科技南路")
    address_update(address=address, expected_version=1, verified_at=timezone.now())
    customer_update(customer=customer, stage="existing")

    assert receiver.events() == [
        "customer.created",
        "address.created",
        "address.updated",
        "address.verified",
        "customer.updated",
    ]
    headers, body = receiver.requests[1]
    verified = Webhook(endpoint.secret).verify(body, headers)
    assert verified["data"]["district"] == "440305" and verified["data"]["customer_id"] == customer.pk
    assert json.loads(receiver.requests[4][1])["data"]["changed_fields"] == ["stage"]
    assert WebhookDelivery.objects.filter(status=DeliveryStatus.DELIVERED).count() == 5


def test_a_tampered_payload_fails_verification(receiver, endpoint, sales):
    customer_create(name="甲公司", owner=sales)
    headers, body = receiver.requests[0]
    with pytest.raises(Exception):  # noqa: B017 (standardwebhooks' verification error)
        Webhook(endpoint.secret).verify(body.replace("甲", "乙"), headers)


def test_failed_delivery_is_retried_with_the_same_message_id_and_logged(receiver, endpoint, sales, settings):
    settings.WEBHOOK_RETRY_BASE_SECONDS = 0
    receiver.answers = [503, 500]
    customer_create(name="甲公司", owner=sales)
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.RETRYING and delivery.attempts == 1

    deliveries_retry_due()
    deliveries_retry_due()

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED and delivery.attempts == 3
    ids = {h["webhook-id"] for h, _b in receiver.requests}
    assert ids == {delivery.message_id}
    log = list(WebhookAttempt.objects.filter(delivery=delivery).order_by("attempted_at", "pk"))
    assert [a.status_code for a in log] == [503, 500, 200]
    assert log[0].response_excerpt == "try later"


def test_backoff_doubles_and_is_capped(settings):
    settings.WEBHOOK_RETRY_BASE_SECONDS = 5
    assert [backoff(n).total_seconds() for n in (1, 2, 3)] == [5, 10, 20]
    assert backoff(30).total_seconds() == 3600


def test_delivery_gives_up_after_the_window_and_endpoint_is_disabled(receiver, endpoint, sales, settings):
    settings.WEBHOOK_RETRY_BASE_SECONDS = 0
    settings.WEBHOOK_RETRY_WINDOW_HOURS = 0  # no time left to retry: each failure is final
    receiver.answers = [500] * 20
    for i in range(10):
        customer_create(name=f"客户{i}", owner=sales)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failing_since=timezone.now() - timedelta(hours=1))
    assert WebhookDelivery.objects.filter(status=DeliveryStatus.FAILED).count() == 10
    endpoint.refresh_from_db()
    assert not endpoint.is_active and "10 failed attempts" in endpoint.disabled_reason
    sent = len(receiver.requests)
    customer_create(name="之后", owner=sales)
    assert len(receiver.requests) == sent  # a disabled endpoint hears nothing


def test_manual_redelivery_sends_the_same_message_again(receiver, endpoint, sales, manager):
    customer_create(name="甲公司", owner=sales)
    delivery = WebhookDelivery.objects.get()
    webhook_redeliver(delivery=delivery, actor=manager)
    assert [h["webhook-id"] for h, _b in receiver.requests] == [delivery.message_id] * 2


def test_deleted_customer_is_announced(receiver, endpoint, manager):
    customer = customer_create(name="甲公司", external_id="E1")
    pk = customer.pk
    customer_delete(customer=customer, actor=manager)
    body = json.loads(receiver.requests[-1][1])
    assert body["type"] == "customer.deleted"
    assert body["data"] == {"id": pk, "name": "甲公司", "external_id": "E1"}


def test_endpoint_hears_only_its_events(receiver, manager, sales):
    webhook_endpoint_create(actor=manager, url=receiver.url, events=["address.created"])
    customer = customer_create(name="甲公司", owner=sales)
    address_create(customer=customer, district_code="440305", detail="x")
    assert receiver.events() == ["address.created"]


def test_api_writes_send_webhooks(receiver, endpoint, api_as, sales):
    api_as(sales).post("/customers/", {"name": "甲公司", "addresses": [{"district_code": "440305"}]})
    assert receiver.events() == ["customer.created", "address.created"]


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/hook",
        "http://127.0.0.1:8000/hook",
        "http://localhost/hook",
        "http://10.0.0.5/hook",
        "http://192.168.1.1/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://user:pw@93.184.216.34/hook",
    ],
)
def test_webhook_url_that_is_not_public_http_is_refused(url, manager, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False
    with pytest.raises(ValidationError) as exc:
        webhook_endpoint_create(actor=manager, url=url, events=["customer.created"])
    assert "url" in exc.value.message_dict
    assert not WebhookEndpoint.objects.exists()


def test_public_ip_url_is_accepted_and_sales_may_not_register(manager, sales, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False
    assert webhook_endpoint_create(
        actor=manager, url="https://93.184.216.34/hook", events=["customer.created"]
    )
    with pytest.raises(Exception):  # noqa: B017 (PermissionDenied)
        webhook_endpoint_create(actor=sales, url="https://93.184.216.34/hook", events=["customer.created"])
