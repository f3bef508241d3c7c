"""Sending webhook deliveries: sign (Standard Webhooks: webhook-id, webhook-timestamp,
webhook-signature = HMAC-SHA256 of "id.timestamp.body"), POST without following redirects,
log the attempt, and decide the next try: exponential backoff over WEBHOOK_RETRY_WINDOW_HOURS,
then failure; an endpoint failing for that long is disabled with its reason shown."""

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from api.choices import DeliveryStatus
from api.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from api.webhook_urls import webhook_url_problem

MAX_BACKOFF_SECONDS = 3600
EXCERPT = 500
USER_AGENT = "Dizhi-Webhooks/1"
MIN_FAILURES_TO_DISABLE = 10


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a redirect is an answer (3xx, a failure), never followed elsewhere


_opener = urllib.request.build_opener(_NoRedirect)


@dataclass(frozen=True)
class Retry:
    delivery_id: int
    at: datetime


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    latency_ms: int
    excerpt: str
    error: str

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def signed_headers(*, secret: str, message_id: str, body: str, at: datetime) -> dict[str, str]:
    """The Standard Webhooks headers for one attempt."""
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, at, body),
    }


def _post(url: str, body: str, headers: dict[str, str]) -> Outcome:
    problem = webhook_url_problem(url)
    if problem:
        return Outcome(None, 0, "", problem)
    request = urllib.request.Request(url, data=body.encode(), headers=headers, method="POST")
    started = time.monotonic()
    try:
        with _opener.open(request, timeout=settings.WEBHOOK_TIMEOUT) as response:
            text = response.read(EXCERPT * 4).decode("utf-8", "replace")
            status = response.status
        error = ""
    except urllib.error.HTTPError as exc:
        status, error = exc.code, ""
        text = exc.read(EXCERPT * 4).decode("utf-8", "replace") if exc.fp else ""
    except (urllib.error.URLError, OSError, ValueError) as exc:
        status, text, error = None, "", str(getattr(exc, "reason", exc))[:300]
    latency = int((time.monotonic() - started) * 1000)
    return Outcome(status, latency, text[:EXCERPT], error)


def backoff(attempts: int) -> timedelta:
    """Wait before try `attempts + 1`: base, 2×, 4× ... capped at an hour."""
    seconds = settings.WEBHOOK_RETRY_BASE_SECONDS * 2 ** max(0, attempts - 1)
    return timedelta(seconds=min(seconds, MAX_BACKOFF_SECONDS))


def deliveries_send(*, delivery_ids: list[int]) -> list[Retry]:
    """Try each pending or retrying delivery once; returns the retries to schedule."""
    retries = []
    deliveries = (
        WebhookDelivery.objects.filter(
            pk__in=delivery_ids, status__in=[DeliveryStatus.PENDING, DeliveryStatus.RETRYING]
        )
        .select_related("endpoint")
        .order_by("pk")
    )
    for delivery in deliveries:
        retry = delivery_attempt(delivery)
        if retry is not None:
            retries.append(retry)
    return retries


def delivery_attempt(delivery: WebhookDelivery) -> Retry | None:
    """One try of `delivery`, logged; its next try when it failed and time is left."""
    endpoint = delivery.endpoint
    now = timezone.now()
    if not endpoint.is_active:
        outcome = Outcome(None, 0, "", "The endpoint is disabled.")
    else:
        body = json.dumps(delivery.payload, ensure_ascii=False, separators=(",", ":"))
        headers = signed_headers(secret=endpoint.secret, message_id=delivery.message_id, body=body, at=now)
        outcome = _post(endpoint.url, body, headers)
    return _record(delivery, endpoint, outcome, now)


@transaction.atomic
def _record(
    delivery: WebhookDelivery, endpoint: WebhookEndpoint, outcome: Outcome, at: datetime
) -> Retry | None:
    WebhookAttempt.objects.create(
        delivery=delivery,
        attempted_at=at,
        status_code=outcome.status_code,
        latency_ms=outcome.latency_ms,
        response_excerpt=outcome.excerpt,
        error=outcome.error,
    )
    delivery.attempts += 1
    delivery.first_attempt_at = delivery.first_attempt_at or at
    retry = None
    if outcome.ok:
        delivery.status, delivery.delivered_at, delivery.next_attempt_at = DeliveryStatus.DELIVERED, at, None
        if endpoint.failure_streak:
            WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failure_streak=0, failing_since=None)
    else:
        next_at = timezone.now() + backoff(delivery.attempts)
        window_end = delivery.committed_at + timedelta(hours=settings.WEBHOOK_RETRY_WINDOW_HOURS)
        if endpoint.is_active and next_at <= window_end:
            delivery.status, delivery.next_attempt_at = DeliveryStatus.RETRYING, next_at
            retry = Retry(delivery.pk, next_at)
        else:
            delivery.status, delivery.next_attempt_at = DeliveryStatus.FAILED, None
        if endpoint.is_active:
            _count_failure(endpoint, at)
    delivery.save(update_fields=["attempts", "first_attempt_at", "status", "delivered_at", "next_attempt_at"])
    return retry


def _count_failure(endpoint: WebhookEndpoint, at: datetime) -> None:
    """Count a failed attempt; an endpoint failing without a success for the whole retry window
    (and at least MIN_FAILURES_TO_DISABLE times) is disabled."""
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failure_streak=F("failure_streak") + 1)
    WebhookEndpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=True).update(failing_since=at)
    endpoint.refresh_from_db(fields=["failure_streak", "failing_since", "is_active"])
    window = timedelta(hours=settings.WEBHOOK_RETRY_WINDOW_HOURS)
    if endpoint.failure_streak >= MIN_FAILURES_TO_DISABLE and at - endpoint.failing_since >= window:
        reason = (
            f"Disabled automatically on {at:%Y-%m-%d %H:%M} UTC after {endpoint.failure_streak} failed "
            f"attempts in a row since {endpoint.failing_since:%Y-%m-%d %H:%M} UTC."
        )
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(is_active=False, disabled_reason=reason)
        endpoint.is_active = False


def deliveries_due(*, now: datetime | None = None, limit: int = 1000) -> list[int]:
    """Retrying deliveries whose time has come (for task backends that cannot schedule)."""
    now = now or timezone.now()
    return list(
        WebhookDelivery.objects.filter(status=DeliveryStatus.RETRYING, next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
