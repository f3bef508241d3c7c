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
# customer_id, user, request: a customer's page was read (the audit trail records it).
customer_viewed = Signal()
