"""A customer's personal data for the customer (issue #30, data-subject requests): managers only,
audited, the customer's record, addresses, history and audit entries as JSON and CSV."""

import csv
import io
import json
import zipfile

import pytest
from django.test import Client

from addresses.services import address_create, address_update
from trust.choices import AuditAction
from trust.models import AuditEntry

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer(make_customer, sales):
    c = make_customer("张三", owner=sales, phone="13800138000", email="z@example.com")
    a = address_create(customer=c, district_code="440305", detail="科技园1号", actor=sales)
    address_update(address=a, expected_version=1, detail="科技园2号", actor=sales)
    return c


def _client(user):
    client = Client()
    client.force_login(user)
    return client


def test_a_manager_downloads_the_customers_personal_data(customer, manager, sales):
    _client(sales).get(f"/customers/{customer.pk}/")  # an audit entry about the customer
    page = _client(manager).get(f"/customers/{customer.pk}/").content.decode()
    assert 'data-testid="subject-export"' in page
    response = _client(manager).post(f"/trust/customers/{customer.pk}/personal-data/")
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    z = zipfile.ZipFile(io.BytesIO(response.content))
    assert set(z.namelist()) == {
        "customer.json", "addresses.json", "addresses.csv", "history.json", "history.csv", "audit.json", "audit.csv",
    }  # fmt: skip
    record = json.loads(z.read("customer.json"))
    assert (record["name"], record["phone"], record["email"]) == ("张三", "13800138000", "z@example.com")
    (address,) = json.loads(z.read("addresses.json"))
    assert address["detail"] == "科技园2号" and address["region__name"] == "南山区"
    history = json.loads(z.read("history.json"))
    assert [h["version"] for h in history] == [1, 2] and history[1]["after"]["detail"] == "科技园2号"
    rows = list(csv.DictReader(io.StringIO(z.read("history.csv").decode("utf-8-sig"))))
    assert [r["actor_name"] for r in rows] == ["sales1", "sales1"]
    audit = json.loads(z.read("audit.json"))
    assert [e["actor_name"] for e in audit if e["action"] == AuditAction.CUSTOMER_VIEW] == [
        "sales1",
        "manager1",
    ]
    (entry,) = AuditEntry.objects.filter(action=AuditAction.SUBJECT_EXPORT)
    assert (entry.actor_name, entry.customer_id) == ("manager1", customer.pk)


def test_a_salesperson_cannot_export_personal_data(customer, sales):
    assert (
        'data-testid="subject-export"'
        not in _client(sales).get(f"/customers/{customer.pk}/").content.decode()
    )
    assert _client(sales).post(f"/trust/customers/{customer.pk}/personal-data/").status_code == 403
    assert not AuditEntry.objects.filter(action=AuditAction.SUBJECT_EXPORT).exists()


def test_an_unknown_customer_answers_404(manager):
    assert _client(manager).post("/trust/customers/999999/personal-data/").status_code == 404


def test_get_is_not_allowed(customer, manager):
    assert _client(manager).get(f"/trust/customers/{customer.pk}/personal-data/").status_code == 405
