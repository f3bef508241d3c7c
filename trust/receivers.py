"""The audit trail's subscriptions: logins (django.contrib.auth), roles (group membership),
territories and deletions (customers.signals), customer pages read (customers.signals)."""

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import m2m_changed
from django.dispatch import receiver

from customers.signals import customer_viewed, customers_deleting, territories_changed
from trust.choices import AuditAction
from trust.services import audit_record, audit_record_many


@receiver(user_logged_in, dispatch_uid="trust.login")
def logged_in(sender, request, user, **kwargs):
    audit_record(actor=user, action=AuditAction.LOGIN, request=request)


@receiver(user_logged_out, dispatch_uid="trust.logout")
def logged_out(sender, request, user, **kwargs):
    if user is not None:
        audit_record(actor=user, action=AuditAction.LOGOUT, request=request)


@receiver(user_login_failed, dispatch_uid="trust.login_failed")
def login_failed(sender, credentials, request=None, **kwargs):
    audit_record(
        actor=None,
        action=AuditAction.LOGIN_FAILED,
        request=request,
        username=str(credentials.get("username", "")),
    )


@receiver(m2m_changed, sender=get_user_model().groups.through, dispatch_uid="trust.roles")
def roles_changed(sender, instance, action, reverse, pk_set, **kwargs):
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    from django.contrib.auth.models import Group

    if reverse:  # group.user_set changed: instance is the group
        users, groups = sorted(pk_set or ()), [instance.name]
    else:
        users, groups = (
            [instance.pk],
            sorted(Group.objects.filter(pk__in=pk_set or ()).values_list("name", flat=True)),
        )
    audit_record(
        actor=None,
        action=AuditAction.ROLE_CHANGE,
        change=action.removeprefix("post_"),
        user_ids=users,
        groups=groups,
    )


@receiver(territories_changed, dispatch_uid="trust.territories")
def territories(sender, *, user_ids, actor=None, **kwargs):
    audit_record(actor=actor, action=AuditAction.TERRITORY_CHANGE, user_ids=list(user_ids))


@receiver(customers_deleting, dispatch_uid="trust.customers_deleting")
def customers_deleted(sender, *, customer_ids, actor=None, **kwargs):
    audit_record_many(actor=actor, action=AuditAction.CUSTOMER_DELETE, customer_ids=customer_ids)


@receiver(customer_viewed, dispatch_uid="trust.customer_viewed")
def customer_page_read(sender, *, customer_id, user, request=None, **kwargs):
    audit_record(actor=user, action=AuditAction.CUSTOMER_VIEW, customer_id=customer_id, request=request)
