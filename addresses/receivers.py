"""What the addresses app does when customers change (customers.signals) and after its own
writes commit (addresses.signals). Connected in AddressesConfig.ready."""

from django.conf import settings
from django.dispatch import receiver

from addresses import services
from addresses.freshness import addresses_data_changed
from addresses.signals import addresses_committed
from addresses.tasks import addresses_refine_location
from customers.signals import (
    customers_archiving,
    customers_changed,
    customers_deleting,
    customers_restored,
    territories_changed,
)


@receiver(customers_changed, dispatch_uid="addresses.customer_copies")
def keep_customer_copies(sender, *, customer_ids, fields, created=False, **kwargs):
    if not created:
        services.addresses_customers_changed(customer_ids=customer_ids, fields=set(fields))


@receiver(customers_deleting, dispatch_uid="addresses.customers_deleting")
def forget_customers(sender, *, customer_ids, actor=None, **kwargs):
    services.addresses_customers_forget(customer_ids=customer_ids, actor=actor)


@receiver(customers_archiving, dispatch_uid="addresses.customers_archiving")
def archive_addresses(sender, *, customer_ids, **kwargs):
    """Customers going to the trash take their addresses and history with them."""
    return {"addresses": services.addresses_archive(customer_ids=customer_ids)}


@receiver(customers_restored, dispatch_uid="addresses.customers_restored")
def restore_addresses(sender, *, customer_id, archive, actor=None, **kwargs):
    if archive.get("addresses"):
        services.addresses_put_back(entries=archive["addresses"], actor=actor)


@receiver(territories_changed, dispatch_uid="addresses.territories_changed")
def territories_moved(sender, **kwargs):
    # Cached counts and map aggregates are kept per user scope: a territory change must not
    # leave a salesperson seeing (or missing) customers until they expire.
    addresses_data_changed()


@receiver(addresses_committed, dispatch_uid="addresses.refine_location")
def refine_coarse_locations(sender, *, coarse_ids, **kwargs):
    """With an online geocoder configured, locate coarse addresses better in the background."""
    if coarse_ids and settings.GEOCODER.get("PROVIDER"):
        addresses_refine_location.enqueue(address_ids=coarse_ids)
