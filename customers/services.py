"""Writes to customers. Address writes live in addresses/services.py."""

from collections.abc import Sequence

from django.db import transaction

from customers.models import Customer

CUSTOMER_FIELDS = ("name", "kind", "stage", "owner", "phone", "email", "external_id")


@transaction.atomic
def customer_create(*, actor=None, **fields) -> Customer:
    """Validate and create one customer."""
    customer = Customer(**fields)
    if customer.external_id == "":
        customer.external_id = None
    customer.full_clean()
    customer.save()
    return customer


@transaction.atomic
def customer_update(*, customer: Customer, actor=None, **changes) -> Customer:
    """Validate and apply `changes` to one customer."""
    for name, value in changes.items():
        if name not in CUSTOMER_FIELDS:
            raise TypeError(f"unknown customer field {name!r}")
        setattr(customer, name, value)
    if customer.external_id == "":
        customer.external_id = None
    customer.full_clean()
    customer.save()
    return customer


@transaction.atomic
def customers_bulk_create(*, customers: Sequence[Customer], actor=None) -> list[Customer]:
    """Insert many already-validated customers in one statement per 2,000 rows."""
    return Customer.objects.bulk_create(customers, batch_size=2000)


@transaction.atomic
def customers_reassign_owner(*, customer_ids: Sequence[int], owner, actor=None) -> int:
    """Give many customers a new owner (a manager's action); returns how many changed."""
    from django.utils import timezone

    return (
        Customer.objects.filter(pk__in=list(customer_ids))
        .exclude(owner=owner)
        .update(owner=owner, updated_at=timezone.now())
    )
