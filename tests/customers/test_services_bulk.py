"""customers_upsert at bulk size (COPY on PostgreSQL) fills every column as the ORM would."""

import pytest

from customers.models import Customer
from customers.services import customers_upsert

pytestmark = pytest.mark.django_db

N = 260  # above crm.db.bulk_insert.COPY_MIN_ROWS


def test_new_customers_get_the_model_defaults_and_their_ids(sales):
    rows = [
        {"external_id": f"C{i}", "name": f"客户{i}", "owner_id": sales.pk if i % 2 else None}
        for i in range(N)
    ]
    out = customers_upsert(rows=rows, fields=["name", "owner_id"])
    assert [status for _pk, status in out] == ["created"] * N
    by_id = {c.pk: c for c in Customer.objects.all()}
    blank = Customer()  # the ORM's defaults
    for (pk, _status), row in zip(out, rows):
        c = by_id[pk]
        assert (c.external_id, c.name, c.owner_id) == (row["external_id"], row["name"], row["owner_id"])
        assert (c.kind, c.stage, c.phone, c.email) == (blank.kind, blank.stage, "", "")
        assert c.created_at is not None and c.updated_at is not None
    again = customers_upsert(rows=rows, fields=["name", "owner_id"])
    assert again == [(pk, "unchanged") for pk, _s in out]
