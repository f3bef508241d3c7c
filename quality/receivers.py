"""What the quality app does when customers or addresses change: the blocking keys and open
duplicate pairs of the customers a small write touched are refreshed once it commits (a bulk
import leaves that to the next `find_duplicates` scan). Connected in QualityConfig.ready."""

from django.db import transaction
from django.dispatch import receiver

from addresses.models import Address
from addresses.signals import addresses_committed
from customers.signals import customers_changed
from quality.services import duplicates_refresh_for

# Writes of more customers than this are bulk work: the nightly scan catches up with them.
LIVE_REFRESH_LIMIT = 200


@receiver(customers_changed, dispatch_uid="quality.customers_changed")
def customers_written(sender, *, customer_ids, fields, **kwargs):
    ids = list(customer_ids)
    if ids and len(ids) <= LIVE_REFRESH_LIMIT and {"name", "phone", "email"} & set(fields):
        transaction.on_commit(lambda: duplicates_refresh_for(customer_ids=ids))


@receiver(addresses_committed, dispatch_uid="quality.addresses_committed")
def addresses_written(sender, *, created_ids, updated_ids, channel, **kwargs):
    ids = [*created_ids, *updated_ids]
    if ids and len(ids) <= LIVE_REFRESH_LIMIT and channel != "import":
        customer_ids = sorted(set(Address.objects.filter(pk__in=ids).values_list("customer_id", flat=True)))
        duplicates_refresh_for(customer_ids=customer_ids)
