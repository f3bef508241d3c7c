"""Writes of the API app: tokens, idempotency records, webhook endpoints and deliveries.

Customer and address data are never written here: the endpoints call customers.services and
addresses.services with channel `api`, like every other channel.
"""

import base64
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from api.choices import DeliveryStatus, TokenScope, WebhookEvent
from api.models import ApiToken, IdempotencyRecord, WebhookEndpoint
from api.tasks import deliveries_enqueue
from api.webhook_urls import webhook_url_problem
from crm.roles import ADMIN, is_manager, user_roles

TOKEN_START = "dz_"


@dataclass(frozen=True)
class IssuedToken:
    """A token just created: `plaintext` is shown once and never stored."""

    token: ApiToken
    plaintext: str


def secret_hash(secret: str) -> str:
    """SHA-256 of a token's secret: tokens are 256 random bits, so a fast hash is enough
    (a slow password hash would cost every API call)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def token_create(
    *, user, name: str, scope: str = TokenScope.READ, expires_at: datetime | None = None
) -> IssuedToken:
    """Issue a personal token for `user`; the plaintext is returned once."""
    TokenScope(scope)
    if not name.strip():
        raise ValidationError({"name": [_("Give the token a name.")]})
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError({"expires_at": [_("The expiry must be in the future.")]})
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name.strip()[:100],
        prefix=prefix,
        secret_hash=secret_hash(secret),
        scope=scope,
        expires_at=expires_at,
    )
    return IssuedToken(token=token, plaintext=f"{TOKEN_START}{prefix}_{secret}")


def can_manage_token(*, actor, token: ApiToken) -> bool:
    """A user manages their own tokens; managers those of non-admin users; admins all."""
    if token.user_id == actor.pk or actor.is_superuser or ADMIN in user_roles(actor):
        return True
    if is_manager(actor):
        owner = token.user
        return not (owner.is_superuser or user_roles(owner) & {ADMIN, "manager"})
    return False


def token_revoke(*, token: ApiToken, actor) -> ApiToken:
    """Revoke a token at once (its next call answers 401)."""
    if not can_manage_token(actor=actor, token=token):
        raise PermissionDenied
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token


def token_authenticate(plaintext: str) -> tuple[ApiToken | None, str]:
    """The token a bearer string names and why it fails ("" when it is valid)."""
    if not plaintext.startswith(TOKEN_START) or plaintext.count("_") < 2:
        return None, "malformed"
    prefix, _sep, secret = plaintext[len(TOKEN_START) :].partition("_")
    token = ApiToken.objects.select_related("user").filter(prefix=prefix).first()
    if token is None or not secrets.compare_digest(token.secret_hash, secret_hash(secret)):
        return None, "unknown"
    if token.revoked_at is not None:
        return token, "revoked"
    now = timezone.now()
    if token.expires_at is not None and token.expires_at <= now:
        return token, "expired"
    if not token.user.is_active:
        return token, "inactive"
    # Written at most once a minute per token: a busy integration must not turn reads into writes.
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token, ""


# --- Idempotency keys -------------------------------------------------------------------------


def idempotency_begin(*, token: ApiToken, key: str, request_hash: str) -> IdempotencyRecord | None:
    """Claim `key` for this request; returns the earlier record when the key was used before
    (completed or still running), None when this request now owns it."""
    try:
        with transaction.atomic():
            IdempotencyRecord.objects.create(token=token, key=key, request_hash=request_hash)
        return None
    except IntegrityError:
        return IdempotencyRecord.objects.get(token=token, key=key)


def idempotency_finish(*, token: ApiToken, key: str, status_code: int, body: str, headers: dict) -> None:
    """Keep the answer to replay it; a server error frees the key for a retry."""
    records = IdempotencyRecord.objects.filter(token=token, key=key, status_code__isnull=True)
    if status_code >= 500:
        records.delete()
    else:
        records.update(status_code=status_code, response_body=body, response_headers=headers)


def idempotency_release(*, record: IdempotencyRecord) -> None:
    """Free a key whose first request never finished."""
    IdempotencyRecord.objects.filter(pk=record.pk, status_code__isnull=True).delete()


def idempotency_forget(*, older_than: datetime) -> int:
    """Drop records past their replay window."""
    return IdempotencyRecord.objects.filter(created_at__lt=older_than).delete()[0]


# --- Webhook endpoints ------------------------------------------------------------------------


def _new_webhook_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def _clean_endpoint(*, url: str, events) -> list[str]:
    errors: dict[str, list[str]] = {}
    problem = webhook_url_problem(url)
    if problem:
        errors["url"] = [problem]
    events = list(dict.fromkeys(events or []))
    unknown = [e for e in events if e not in WebhookEvent.values]
    if not events:
        errors["events"] = [_("Choose at least one event.")]
    elif unknown:
        errors["events"] = [_("Unknown events: %(events)s.") % {"events": ", ".join(unknown)}]
    if errors:
        raise ValidationError(errors)
    return events


def webhook_endpoint_create(*, actor, url: str, events, description: str = "") -> WebhookEndpoint:
    """Register an endpoint (managers and admins) with a fresh signing secret."""
    if not is_manager(actor):
        raise PermissionDenied
    events = _clean_endpoint(url=url, events=events)
    return WebhookEndpoint.objects.create(
        url=url, events=events, description=description[:200], secret=_new_webhook_secret(), created_by=actor
    )


def webhook_endpoint_update(*, endpoint: WebhookEndpoint, actor, **changes) -> WebhookEndpoint:
    """Change an endpoint's URL, events, description or active flag (re-enabling clears the
    failure streak)."""
    if not is_manager(actor):
        raise PermissionDenied
    for name, value in changes.items():
        if name not in ("url", "events", "description", "is_active"):
            raise TypeError(f"unknown endpoint field {name!r}")
        setattr(endpoint, name, value)
    endpoint.events = _clean_endpoint(url=endpoint.url, events=endpoint.events)
    if changes.get("is_active"):
        endpoint.failure_streak, endpoint.disabled_reason = 0, ""
    endpoint.save()
    return endpoint


def webhook_endpoint_rotate_secret(*, endpoint: WebhookEndpoint, actor) -> WebhookEndpoint:
    """Give an endpoint a new signing secret."""
    if not is_manager(actor):
        raise PermissionDenied
    endpoint.secret = _new_webhook_secret()
    endpoint.save(update_fields=["secret"])
    return endpoint


def webhook_endpoint_delete(*, endpoint: WebhookEndpoint, actor) -> None:
    """Remove an endpoint and its delivery log."""
    if not is_manager(actor):
        raise PermissionDenied
    endpoint.delete()


def webhook_redeliver(*, delivery, actor) -> None:
    """Send a delivery again now (same message id), whatever its status."""
    if not is_manager(actor):
        raise PermissionDenied
    delivery.status = DeliveryStatus.PENDING
    delivery.next_attempt_at = None
    delivery.save(update_fields=["status", "next_attempt_at"])
    transaction.on_commit(lambda: deliveries_enqueue([delivery.pk]))
