"""Deployment checks (`manage.py check --deploy`, run by scripts/serve) for the production path."""

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.caches, deploy=True)
def shared_cache_check(app_configs, **kwargs):
    """Counts and map caches key on a data version kept in the cache: every web and worker
    process must share one cache, or a process keeps serving what another already changed."""
    backend = settings.CACHES["default"]["BACKEND"]
    if backend.endswith(("locmem.LocMemCache", "dummy.DummyCache")):
        return [
            Warning(
                "CACHE_URL is a per-process cache; with several gunicorn workers or a db_worker, "
                "counts and map caches go stale.",
                hint="Set CACHE_URL=redis://127.0.0.1:6379/1 (README, Run in production).",
                id="dizhi.W001",
            )
        ]
    return []
