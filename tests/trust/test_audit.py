"""The audit trail (issue #30): who read a customer page, exported, imported, logged in or failed
to, changed roles or territories; an admin page to search it; retention; append-only in
PostgreSQL."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection, transaction
from django.db.utils import DatabaseError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from crm import roles
from customers.services import territory_assign
from geo.models import Region
from trust.choices import AuditAction
from trust.models import AuditEntry

pytestmark = pytest.mark.django_db


def _entries(action):
    return list(AuditEntry.objects.filter(action=action).order_by("id"))


def test_logins_and_failed_logins_are_recorded(sales):
    client = Client(REMOTE_ADDR="198.51.100.7")
    client.post("/accounts/login/", {"username": "sales1", "password": "wrong"})
    client.post("/accounts/login/", {"username": "sales1", "password": "pw-sales1"})
    (failed,) = _entries(AuditAction.LOGIN_FAILED)
    (ok,) = _entries(AuditAction.LOGIN)
    assert (failed.actor_id, failed.actor_name, failed.ip_address) == (None, "sales1", "198.51.100.7")
    assert (ok.actor_id, ok.actor_name, ok.ip_address) == (sales.pk, "sales1", "198.51.100.7")


def test_reading_a_customer_page_is_recorded_and_a_404_is_not(client, sales, other_sales, make_customer):
    mine, theirs = make_customer("我的", owner=sales), make_customer("别人的", owner=other_sales)
    client.force_login(sales)
    assert client.get(f"/customers/{mine.pk}/").status_code == 200
    assert client.get(f"/customers/{theirs.pk}/").status_code == 404
    (entry,) = _entries(AuditAction.CUSTOMER_VIEW)
    assert (entry.actor_name, entry.customer_id) == ("sales1", mine.pk)


def test_an_export_is_recorded_with_its_filters_format_and_row_count(client, manager, make_customer):
    make_customer("一", stage="new"), make_customer("二", stage="new"), make_customer("三", stage="churned")
    client.force_login(manager)
    response = client.get("/imports/export/?format=csv&stage=new")
    b"".join(response.streaming_content)
    (entry,) = _entries(AuditAction.EXPORT)
    assert entry.details == {"format": "csv", "filters": {"stage": ["new"]}, "rows": 2}


def test_confirming_an_import_is_recorded(client, manager, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    client.force_login(manager)
    csv = "外部编号,客户名称,地址\nA1,客户,北京市东城区\n".encode()
    client.post(reverse("imports:upload"), {"file": SimpleUploadedFile("客户.csv", csv)})
    from imports.models import ImportJob

    job = ImportJob.objects.get()
    client.post(reverse("imports:job", args=[job.pk]))
    client.post(reverse("imports:job", args=[job.pk]))  # a second confirmation runs and records nothing
    (entry,) = _entries(AuditAction.IMPORT)
    assert entry.details["job"] == job.pk and entry.details["file"] == "客户.csv"


def test_role_and_territory_changes_are_recorded(make_user, manager):
    user = make_user("newbie", role=None)
    user.groups.add(Group.objects.get(name=roles.SALES))
    Group.objects.get(name=roles.MANAGER).user_set.add(user)
    territory_assign(user=user, region=Region.objects.get(code="440300"), actor=manager)
    added_sales, added_manager = [
        e for e in _entries(AuditAction.ROLE_CHANGE) if user.pk in e.details["user_ids"]
    ]
    assert added_sales.details == {"change": "add", "user_ids": [user.pk], "groups": [roles.SALES]}
    assert added_manager.details == {"change": "add", "user_ids": [user.pk], "groups": [roles.MANAGER]}
    (territory,) = _entries(AuditAction.TERRITORY_CHANGE)
    assert territory.actor_name == "manager1" and territory.details == {"user_ids": [user.pk]}


def test_the_admin_searches_the_trail_and_cannot_change_it(client, make_user, sales, make_customer):
    boss = make_user("boss", role=None, is_staff=True, is_superuser=True)
    customer = make_customer("查", owner=sales)
    viewer = Client()
    viewer.force_login(sales)
    viewer.get(f"/customers/{customer.pk}/")
    client.force_login(boss)
    page = client.get("/admin/trust/auditentry/", {"q": "sales1"}).content.decode()
    assert "sales1" in page and "打开客户页面" in page  # "Opened a customer page", translated
    entry = AuditEntry.objects.get(action=AuditAction.CUSTOMER_VIEW)
    assert client.get(f"/admin/trust/auditentry/{entry.pk}/delete/").status_code == 403
    assert client.post(f"/admin/trust/auditentry/{entry.pk}/change/", {"actor_name": "x"}).status_code == 403
    assert client.get("/admin/trust/auditentry/add/").status_code == 403


def test_retention_prunes_only_entries_older_than_the_period(settings):
    settings.AUDIT_RETENTION_DAYS = 30
    old = AuditEntry.objects.create(action=AuditAction.LOGIN, created_at=timezone.now() - timedelta(days=31))
    recent = AuditEntry.objects.create(
        action=AuditAction.LOGIN, created_at=timezone.now() - timedelta(days=29)
    )
    call_command("audit_prune")
    assert list(AuditEntry.objects.values_list("pk", flat=True)) == [recent.pk]
    assert not AuditEntry.objects.filter(pk=old.pk).exists()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger is PostgreSQL's")
def test_postgresql_rejects_update_and_delete_of_the_trail():
    entry = AuditEntry.objects.create(action=AuditAction.LOGIN, actor_name="a")
    for attempt in (
        lambda: AuditEntry.objects.filter(pk=entry.pk).update(actor_name="b"),
        lambda: AuditEntry.objects.filter(pk=entry.pk).delete(),
    ):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            attempt()
    assert AuditEntry.objects.get(pk=entry.pk).actor_name == "a"
