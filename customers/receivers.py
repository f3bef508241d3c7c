"""What the customers app does when a user is deleted: their customers lose their owner through
customers.services (not the database's SET NULL), so every copy of the owner is kept true."""

from django.conf import settings
from django.db.models.signals import pre_delete
from django.dispatch import receiver

from customers.models import Customer
from customers.services import customers_reassign_owner


@receiver(pre_delete, sender=settings.AUTH_USER_MODEL, dispatch_uid="customers.owner_deleted")
def release_owned_customers(sender, instance, **kwargs):
    owned = list(Customer.objects.filter(owner_id=instance.pk).values_list("pk", flat=True))
    if owned:
        customers_reassign_owner(customer_ids=owned, owner=None)
