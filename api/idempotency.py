"""`Idempotency-Key` on POST: the first answer to a key is kept (per token) and a repeat gets it
back, marked `Idempotent-Replayed: true`, without running again; the same key with another body
is refused (422), and while the first request still runs a repeat gets 409."""

import functools
import hashlib
import json
from datetime import timedelta

from django.http import HttpResponse
from django.utils import timezone
from ninja.responses import NinjaJSONEncoder

from api.problems import ApiProblem
from api.services import idempotency_begin, idempotency_finish, idempotency_release

REPLAY_HEADERS = ("Content-Type", "Location", "ETag")
STALE_CLAIM = timedelta(minutes=5)  # a claim never finished (a killed worker) frees the key


def idempotent(view):
    """Decorate a POST operation (its answer is rendered here, so it can be kept). An error
    raised by the operation wrote nothing (the services are atomic): it frees the key."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        key = request.headers.get("Idempotency-Key")
        if not key:
            return view(request, *args, **kwargs)
        if len(key) > 255:
            raise ApiProblem(
                400, "Invalid request", "Idempotency-Key is longer than 255 characters.", kind="validation"
            )
        token = request.auth
        digest = hashlib.sha256(
            request.method.encode() + request.path.encode() + b"\0" + request.body
        ).hexdigest()
        earlier = idempotency_begin(token=token, key=key, request_hash=digest)
        if earlier is not None:
            return _replay(
                earlier, digest, token=token, key=key, retry=lambda: wrapper(request, *args, **kwargs)
            )
        try:
            result = view(request, *args, **kwargs)
        except Exception:
            idempotency_finish(token=token, key=key, status_code=500, body="", headers={})
            raise
        response = result if isinstance(result, HttpResponse) else render(result)
        idempotency_finish(
            token=token,
            key=key,
            status_code=response.status_code,
            body=response.content.decode(),
            headers={h: response[h] for h in REPLAY_HEADERS if h in response},
        )
        return response

    return wrapper


def render(result) -> HttpResponse:
    """An operation's (status, data) or data as the JSON answer django-ninja would give."""
    status, data = result if isinstance(result, tuple) else (200, result)
    return HttpResponse(
        json.dumps(data, cls=NinjaJSONEncoder, ensure_ascii=False),
        status=status,
        content_type="application/json",
    )


def _replay(record, digest: str, *, token, key: str, retry):
    if record.request_hash != digest:
        raise ApiProblem(
            422,
            "Idempotency key reused",
            "This Idempotency-Key was used with another request; use a new key for a new request.",
            kind="idempotency-key-reused",
        )
    if record.status_code is None:
        if timezone.now() - record.created_at > STALE_CLAIM:
            idempotency_release(record=record)
            return retry()
        raise ApiProblem(
            409,
            "Conflict",
            "A request with this Idempotency-Key is still running.",
            kind="idempotency-in-progress",
        )
    response = HttpResponse(record.response_body, status=record.status_code)
    for name, value in record.response_headers.items():
        response[name] = value
    response["Idempotent-Replayed"] = "true"
    return response
