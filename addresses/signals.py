"""Events of the address write path, for apps above it (webhooks, background refinement).

`addresses_committed` is sent once a transaction that wrote addresses commits, with
created_ids, updated_ids, coarse_ids (located only to a region's centre or not at all),
channel and actor_id.
"""

from django.dispatch import Signal

addresses_committed = Signal()
