from datetime import timedelta

from django.apps import apps
from django.conf import settings
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from crm.roles import is_manager


def territory_address_filter(user) -> Q | None:
    """Q over Address rows that lie inside the user's territories (whole subtrees)."""
    Territory = apps.get_model("customers", "Territory")
    by_level: dict[str, list[int]] = {}
    for region_id, level in Territory.objects.filter(user=user).values_list("region_id", "region__level"):
        by_level.setdefault(level, []).append(region_id)
    if not by_level:
        return None
    q = Q()
    for level, ids in by_level.items():
        # Addresses denormalise each level into its own indexed column, so a
        # subtree is a plain IN on that column.
        q |= Q(**{f"{level}_id__in": ids})
    return q


class CustomerQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Customers the user may see: everything for managers and admins; for sales
        staff their own customers plus those with an address in their territories;
        nothing for anonymous users."""
        if user is None or not user.is_authenticated or not user.is_active:
            return self.none()
        if is_manager(user):
            return self
        visible = Q(owner=user)
        in_territory = territory_address_filter(user)
        if in_territory is not None:
            Address = apps.get_model("addresses", "Address")
            visible |= Exists(Address.objects.filter(in_territory, customer=OuterRef("pk")))
        return self.filter(visible)

    def owned_by(self, user):
        return self.filter(owner=user)


def trash_cutoff():
    """Trash items deleted before this moment can no longer be restored (settings.TRASH_DAYS)."""
    return timezone.now() - timedelta(days=settings.TRASH_DAYS)


class TrashItemQuerySet(models.QuerySet):
    def restorable(self):
        """Not restored yet and still within the restore period."""
        return self.filter(restored_at__isnull=True, deleted_at__gte=trash_cutoff())
