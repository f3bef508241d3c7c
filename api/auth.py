"""Token authentication for the API: the bearer token names its user, the operation's scope
must be granted, the body must fit the limit, and each token has a per-minute budget
(429 with Retry-After past it). Runs before the body is parsed."""

import time

from django.conf import settings
from django.core.cache import cache
from ninja.security import HttpBearer

from api.choices import TokenScope
from api.problems import ApiProblem
from api.services import token_authenticate

_REASONS = {
    "malformed": "The token is not a Dizhi API token.",
    "unknown": "The token is not known.",
    "revoked": "The token was revoked.",
    "expired": "The token has expired.",
    "inactive": "The token's user is inactive.",
}


def _check_body_size(request) -> None:
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > settings.API_MAX_BODY_BYTES:
        raise ApiProblem(
            413,
            "Content too large",
            f"The body has {length} bytes; the limit is {settings.API_MAX_BODY_BYTES}.",
            kind="too-large",
        )


def _check_rate(token) -> None:
    limit = settings.API_RATE_LIMIT_PER_MINUTE
    if not limit:
        return
    now = time.time()
    window = int(now // 60)
    key = f"api:rate:{token.pk}:{window}"
    cache.add(key, 0, timeout=120)
    try:
        used = cache.incr(key)
    except ValueError:  # evicted between add and incr
        cache.set(key, 1, timeout=120)
        used = 1
    if used > limit:
        retry_after = max(1, int(60 - now % 60))
        raise ApiProblem(
            429,
            "Too many requests",
            f"This token may make {limit} requests a minute.",
            kind="rate-limited",
            headers={"Retry-After": str(retry_after)},
        )


class TokenAuth(HttpBearer):
    """`Authorization: Bearer dz_…`; `request.auth` is the ApiToken, `request.user` its user."""

    def __init__(self, scope: str = TokenScope.READ):
        super().__init__()
        self.scope = scope

    def __call__(self, request):
        _check_body_size(request)
        return super().__call__(request)

    def authenticate(self, request, token: str):
        api_token, reason = token_authenticate(token)
        if reason:
            raise ApiProblem(
                401,
                "Unauthorized",
                _REASONS[reason],
                kind="invalid-token",
                headers={"WWW-Authenticate": 'Bearer realm="dizhi", error="invalid_token"'},
            )
        if self.scope == TokenScope.WRITE and api_token.scope != TokenScope.WRITE:
            raise ApiProblem(
                403,
                "Forbidden",
                "This token may only read; writing needs a token with the write scope.",
                kind="insufficient-scope",
            )
        _check_rate(api_token)
        request.user = api_token.user
        return api_token


read_auth = TokenAuth(TokenScope.READ)
write_auth = TokenAuth(TokenScope.WRITE)
