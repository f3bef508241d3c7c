"""A version number of the order data, moved once a transaction commits that wrote orders or
scores. The analysis pages' cached figures put it (and the address data's version) in their
keys, so none outlives a change."""

from django.core.cache import cache
from django.db import transaction

from addresses.freshness import addresses_data_version

VERSION_KEY = "analysis:data-version"


def orders_data_changed() -> None:
    """Move the version once the current transaction commits."""

    def bump():
        try:
            cache.incr(VERSION_KEY)
        except ValueError:
            cache.set(VERSION_KEY, 1, None)

    transaction.on_commit(bump)


def analysis_data_version() -> str:
    """The current version of what the analysis figures are computed from (orders, addresses)."""
    return f"{cache.get_or_set(VERSION_KEY, 1, None)}.{addresses_data_version()}"
