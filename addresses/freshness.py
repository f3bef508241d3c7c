"""A version number of the address data, moved once a transaction commits that changed
where addresses are or their customers' copies. Caches of counts and map aggregates put
it in their keys, so none outlives a change.
"""

from django.core.cache import cache
from django.db import transaction

from crm.replica import replica_note_data_changed

VERSION_KEY = "map:data-version"


def addresses_data_changed() -> None:
    """Move the version once the current transaction commits."""

    def bump():
        replica_note_data_changed()  # replica reads wait for this commit (crm/replica.py)
        try:
            cache.incr(VERSION_KEY)
        except ValueError:
            cache.set(VERSION_KEY, 1, None)

    transaction.on_commit(bump)


def addresses_data_version() -> int:
    """The current version (caches key on it)."""
    return cache.get_or_set(VERSION_KEY, 1, None)
