"""`/healthz`: is this web process able to serve? For a load balancer or a process supervisor."""

import logging
import uuid

from django.core.cache import cache
from django.db import connections
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

logger = logging.getLogger(__name__)


def _database_ok(alias: str) -> bool:
    try:
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:
        logger.exception("health check: database %s unreachable", alias)
        return False


def _cache_ok() -> bool:
    key, value = f"healthz:{uuid.uuid4().hex}", uuid.uuid4().hex
    try:
        cache.set(key, value, 10)
        ok = cache.get(key) == value
        cache.delete(key)
        return ok
    except Exception:
        logger.exception("health check: cache unreachable")
        return False


@never_cache
@require_GET
def healthz(request):
    """200 with each check's result when every database (primary and replica) and the cache
    answer; 503 otherwise. Needs no login and reads no customer."""
    checks = {f"database:{alias}": _database_ok(alias) for alias in connections}
    checks["cache"] = _cache_ok()
    healthy = all(checks.values())
    return JsonResponse(
        {
            "status": "ok" if healthy else "fail",
            "checks": {k: "ok" if v else "fail" for k, v in checks.items()},
        },
        status=200 if healthy else 503,
    )
