"""Writes to address categories (a manager's job).

Links between addresses and categories are part of an address, so removing them
goes through the address write path (`addresses_categorize`) and leaves a
history row on every address that loses the category.
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from addresses.choices import Channel
from addresses.models import AddressCategory
from addresses.services import addresses_categorize

CATEGORY_FIELDS = ("name", "description", "colour", "parent")


def _check_parent(category: AddressCategory):
    seen = set()
    parent = category.parent
    while parent is not None:
        if parent.pk == category.pk or parent.pk in seen:
            raise ValidationError(
                {"parent": [_("A category cannot be placed under itself or one of its children.")]}
            )
        seen.add(parent.pk)
        parent = parent.parent


@transaction.atomic
def category_create(*, actor=None, **fields) -> AddressCategory:
    """Validate and create one address category."""
    category = AddressCategory(**fields)
    category.colour = (category.colour or "").lower()
    category.full_clean()
    category.save()
    return category


@transaction.atomic
def category_update(*, category: AddressCategory, actor=None, **changes) -> AddressCategory:
    """Validate and apply `changes` to one category (never under itself)."""
    for name, value in changes.items():
        if name not in CATEGORY_FIELDS:
            raise TypeError(f"unknown category field {name!r}")
        setattr(category, name, value)
    category.colour = (category.colour or "").lower()
    category.full_clean()
    _check_parent(category)
    category.save()
    return category


@transaction.atomic
def category_delete(*, category: AddressCategory, actor=None, channel: str = Channel.FORM) -> int:
    """Delete a category: its addresses lose the label (with history) but are kept. Returns how many."""
    address_ids = list(category.addresses.values_list("pk", flat=True))
    unassigned = 0
    for start in range(0, len(address_ids), 2000):
        result = addresses_categorize(
            address_ids=address_ids[start : start + 2000], remove=[category.pk], actor=actor, channel=channel
        )
        unassigned += result.updated
    category.delete()
    return unassigned
