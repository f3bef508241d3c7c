"""Events the customer write path sends, for apps above it (addresses keeps copies of a
customer's name, stage, kind and owner on each address, for the list's region pages and
the map's filters). Sent inside the writing transaction, so a receiver's writes commit or
roll back with the change.
"""

from django.dispatch import Signal

# customer_ids: the customers changed; fields: the names of the fields that changed.
customers_changed = Signal()
# customer_ids: customers about to be deleted (their rows still exist).
customers_deleting = Signal()
# user_ids: users whose territories changed (what they may see changed).
territories_changed = Signal()
# customer_ids: customers about to go to the trash. Each receiver returns {key: {customer id:
# JSON-able rows}}: what it keeps of them, stored with the customer so that it can be restored.
customers_archiving = Signal()
# customer_id, archive ({key: rows} from customers_archiving), actor: a customer came back from
# the trash (its row exists again); receivers put back their rows.
customers_restored = Signal()
# customer_id, user, request: a customer's page was read (the audit trail records it).
customer_viewed = Signal()
