"""Reads of the busy pages from a PostgreSQL streaming replica (DATABASE_REPLICA_URL), never stale.

`ReplicaReadMiddleware` marks a GET of a page in REPLICA_VIEWS (list, map, region counts, export)
as replica-eligible, and `PrimaryReplicaRouter` then sends that request's reads of the customer
data to the "replica" database; every write, every other page, sessions, users and the task queue
stay on the primary. Eligible is not enough: the replica must also have replayed

- the last committed change of the customer and address data (its WAL position is recorded when
  the data version moves or a customer changes, `replica_note_data_changed`), so no one reads,
  nor caches, counts or map cells older than what the primary has; and
- the requesting user's own last write (the position after any POST of theirs, kept in a cookie
  for REPLICA_PIN_SECONDS): what you just saved, you see.

While the replica lags behind either, the request reads from the primary: one small query on the
replica decides, and a replica that cannot be reached also sends the request to the primary.
"""

from __future__ import annotations

import contextvars
import logging
import re

from django.conf import settings
from django.core.cache import cache
from django.core.signals import request_finished
from django.db import DatabaseError, connections, transaction

logger = logging.getLogger(__name__)

REPLICA = "replica"
COOKIE = "dizhi_lsn"
DATA_LSN_KEY = "replica:data-lsn"
# Models whose reads may come from the replica on an eligible request (their own pages' data);
# sessions, users, permissions and the task queue are always read from the primary.
REPLICA_APPS = frozenset({"geo", "customers", "addresses", "maps"})
_LSN = re.compile(r"^[0-9A-F]{1,8}/[0-9A-F]{1,8}$")

_use_replica: contextvars.ContextVar[bool] = contextvars.ContextVar("dizhi_use_replica", default=False)


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


def primary_lsn() -> str | None:
    """The primary's current WAL position (after a commit: a position the commit is before)."""
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn()::text")
        return cursor.fetchone()[0]


def replica_note_data_changed() -> None:
    """Called once a change to the address data has committed (before the data version moves):
    replica reads wait until the replica has replayed it."""
    if replica_configured():
        cache.set(DATA_LSN_KEY, primary_lsn(), None)


def _customers_changed(**_kwargs) -> None:
    """customers.signals.customers_changed (sent inside the writing transaction)."""
    transaction.on_commit(replica_note_data_changed)


def replica_connect_receivers() -> None:
    """Customer changes without an address change (a new customer, a renamed one) count as data
    changes too. Connected in CrmConfig.ready."""
    from customers.signals import customers_changed, customers_deleting

    customers_changed.connect(_customers_changed, dispatch_uid="dizhi-replica-customers-changed")
    customers_deleting.connect(_customers_changed, dispatch_uid="dizhi-replica-customers-deleting")


def _replica_has(positions: list[str]) -> bool:
    """Has the replica replayed every WAL position given? False when it cannot be asked."""
    try:
        with connections[REPLICA].cursor() as cursor:
            if not positions:
                cursor.execute("SELECT 1")
                return True
            cursor.execute(
                "SELECT pg_last_wal_replay_lsn() >= (SELECT max(p) FROM unnest(%s::pg_lsn[]) AS p)",
                [positions],
            )
            return bool(cursor.fetchone()[0])
    except DatabaseError:
        logger.warning("replica unreachable; reading from the primary", exc_info=True)
        connections[REPLICA].close()
        return False


def _reset(**_kwargs) -> None:
    _use_replica.set(False)


# A streamed export reads after the view returned: the choice lasts until the response is closed.
request_finished.connect(_reset, dispatch_uid="dizhi-replica-reset")


class ReplicaReadMiddleware:
    """Decides per request whether the router may read from the replica, and remembers each
    user's writes (their WAL position) in a cookie."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        _use_replica.set(False)
        response = self.get_response(request)
        if (
            replica_configured()
            and request.method not in ("GET", "HEAD", "OPTIONS")
            and response.status_code < 500
        ):
            try:
                lsn = primary_lsn()
            except DatabaseError:
                lsn = None
            if lsn:
                response.set_cookie(
                    COOKIE, lsn, max_age=settings.REPLICA_PIN_SECONDS, httponly=True, samesite="Lax"
                )
        if hasattr(request, "read_from_replica"):  # which database answered (operators, tests)
            response["X-Dizhi-Read"] = "replica" if request.read_from_replica else "primary"
        return response

    def process_view(self, request, view_func, view_args, view_kwargs):
        if not replica_configured() or request.method not in ("GET", "HEAD"):
            return None
        if request.resolver_match is None or request.resolver_match.view_name not in settings.REPLICA_VIEWS:
            return None
        positions = [p for p in (cache.get(DATA_LSN_KEY), request.COOKIES.get(COOKIE)) if p and _LSN.match(p)]
        _use_replica.set(_replica_has(positions))
        request.read_from_replica = _use_replica.get()
        return None


class PrimaryReplicaRouter:
    """Writes and migrations on the primary; reads on the replica only where the middleware
    allowed it for the current request."""

    def db_for_read(self, model, **hints):
        if _use_replica.get() and model._meta.app_label in REPLICA_APPS:
            return REPLICA
        return "default"

    def db_for_write(self, model, **hints):
        return "default"

    def allow_relation(self, obj1, obj2, **hints):
        return True  # one database, two copies of it

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == "default"
