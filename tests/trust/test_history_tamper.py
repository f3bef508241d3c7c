"""The tamper matrix (issue #30, "History no one can rewrite unseen"): the six cases the issue
tried, an edit of every history column, and no false alarm after a normal day's work (edits,
a deleted user, customers deleted by the admin)."""

import hashlib
import io
import json

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.db.utils import DatabaseError
from django.test import Client

from addresses.choices import Channel
from addresses.models import Address, AddressVersion, HistoryHead
from addresses.services import AddressInput, address_create, address_update, addresses_save
from customers.models import Customer
from customers.services import customer_delete
from tests.trust.tampering import allow_history_tampering
from trust.history import history_verify

pytestmark = pytest.mark.django_db


@pytest.fixture
def day(make_customer, sales, manager):
    """A normal day: addresses created and edited by two users, through the form and the import."""
    a = address_create(
        customer=make_customer("甲", owner=sales), district_code="440305", detail="科技园1号", actor=sales
    )
    a = address_update(address=a, expected_version=1, detail="科技园2号", actor=sales)
    a = address_update(address=a, expected_version=2, postcode="518057", actor=manager)
    b = address_create(
        customer=make_customer("乙", owner=sales), district_code="110105", detail="建国路88号", actor=manager
    )
    result = addresses_save(
        items=[AddressInput(customer_id=make_customer("丙").pk, raw_text="上海市浦东新区世纪大道100号")],
        actor=None,
        channel=Channel.IMPORT,
    )
    (c,) = result.addresses
    return {"a": a, "b": b, "c": c}


def _findings(address=None) -> list[str]:
    report = history_verify()
    return [str(p) for p in report.problems if address is None or p.address_id == address.pk]


def _newest(address) -> AddressVersion:
    return AddressVersion.objects.filter(address_id=address.pk).order_by("-version").first()


def test_a_normal_day_verifies_clean(day):
    report = history_verify()
    assert report.ok, report.problems
    assert report.versions == 5 and report.addresses == 3


# --- the six cases the issue tried ---------------------------------------------------------------


def test_changed_after_is_caught(day):
    allow_history_tampering()
    AddressVersion.objects.filter(address_id=day["a"].pk, version=2).update(after={"detail": "伪造"})
    assert any("v2: the row does not match its keyed hash" in f for f in _findings(day["a"]))


def test_changed_changed_fields_is_caught(day):
    allow_history_tampering()
    AddressVersion.objects.filter(address_id=day["a"].pk, version=2).update(changed_fields=["postcode"])
    assert any("v2: the row does not match" in f for f in _findings(day["a"]))


def test_changed_customer_id_is_caught(day):
    allow_history_tampering()
    AddressVersion.objects.filter(address_id=day["a"].pk, version=1).update(customer_id=day["b"].customer_id)
    assert any("v1: the row does not match" in f for f in _findings(day["a"]))


def test_deleted_newest_row_is_caught(day):
    allow_history_tampering()
    _newest(day["a"]).delete()
    findings = _findings(day["a"])
    assert any("head says 3 versions, the history has 2" in f for f in findings)
    assert any("the address is at version 3, its history at 2" in f for f in findings)


def test_deleted_whole_chain_is_caught(day):
    allow_history_tampering()
    AddressVersion.objects.filter(address_id=day["b"].pk).delete()
    findings = _findings(day["b"])
    assert any("its head says 1 versions, but all are gone" in f for f in findings)
    assert any("at version 1 but has no history" in f for f in findings)


def test_deleted_whole_chain_and_its_head_is_caught(day):
    allow_history_tampering()
    AddressVersion.objects.filter(address_id=day["b"].pk).delete()
    HistoryHead.objects.filter(address_id=day["b"].pk).delete()
    assert any("at version 1 but has no history" in f for f in _findings(day["b"]))


def test_chain_recomputed_with_plain_sha256_is_caught(day):
    """Rewrite a row, then re-chain every row after it and the head with SHA-256, as someone
    without the key would: every rewritten row fails its keyed hash."""
    allow_history_tampering()
    prev = ""
    for v in AddressVersion.objects.filter(address_id=day["a"].pk).order_by("version"):
        if v.version == 2:
            v.after = {**v.after, "detail": "伪造"}
        payload = json.dumps([v.address_id, v.version, v.before, v.after, prev], sort_keys=True)
        v.prev_hash, v.hash = prev, hashlib.sha256(payload.encode()).hexdigest()
        v.save()
        prev = v.hash
    HistoryHead.objects.filter(address_id=day["a"].pk).update(hash=prev)
    findings = _findings(day["a"])
    assert {f.split(":")[0] for f in findings} == {f"address {day['a'].pk} v{n}" for n in (1, 2, 3)}


def test_deleting_a_user_rewrites_no_history_and_raises_no_false_alarm(day, sales):
    before = list(
        AddressVersion.objects.filter(address_id=day["a"].pk).values_list("actor_id", "actor_name", "hash")
    )
    sales.delete()
    after = list(
        AddressVersion.objects.filter(address_id=day["a"].pk).values_list("actor_id", "actor_name", "hash")
    )
    assert after == before and before[0][1] == "sales1"
    assert history_verify().ok


def test_a_superuser_deleting_a_customer_in_the_admin_leaves_a_tombstone_not_silence(day, make_user):
    boss = make_user("boss", role=None, is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(boss)
    customer_id, address_id = day["a"].customer_id, day["a"].pk
    response = client.post(f"/admin/customers/customer/{customer_id}/delete/", {"post": "yes"})
    assert response.status_code == 302 and not Customer.objects.filter(pk=customer_id).exists()
    versions = list(AddressVersion.objects.filter(address_id=address_id).order_by("version"))
    assert [v.version for v in versions] == [1, 2, 3, 4]
    assert (versions[-1].channel, versions[-1].actor_name, versions[-1].after) == (
        Channel.DELETION,
        "boss",
        {"deleted": True},
    )
    assert history_verify().ok


def test_an_address_deleted_without_the_service_is_caught(day):
    Address.objects.filter(pk=day["c"].pk).delete()
    assert any("gone without a deletion" in f for f in _findings(day["c"]))


# --- an edit of every column ----------------------------------------------------------------------

COLUMN_EDITS = {
    "address_id": lambda v, day: {"address_id": day["b"].pk + 1000},
    "customer_id": lambda v, day: {"customer_id": v.customer_id + 1},
    "version": lambda v, day: {"version": 7},
    "actor_id": lambda v, day: {"actor_id": (v.actor_id or 0) + 1},
    "actor_name": lambda v, day: {"actor_name": "someone else"},
    "channel": lambda v, day: {"channel": Channel.API},
    "created_at": lambda v, day: {"created_at": v.created_at.replace(year=2020)},
    "before": lambda v, day: {"before": {**v.before, "detail": "x"}},
    "after": lambda v, day: {"after": {**v.after, "detail": "x"}},
    "changed_fields": lambda v, day: {"changed_fields": []},
    "prev_hash": lambda v, day: {"prev_hash": "0" * 64},
    "hash": lambda v, day: {"hash": "f" * 64},
}


def test_every_column_is_covered():
    columns = {f.attname for f in AddressVersion._meta.concrete_fields} - {"id"}
    assert columns == set(COLUMN_EDITS)


@pytest.mark.parametrize("column", sorted(COLUMN_EDITS))
def test_an_edit_of_any_column_is_caught(day, column):
    allow_history_tampering()
    v = AddressVersion.objects.get(address_id=day["a"].pk, version=2)
    AddressVersion.objects.filter(pk=v.pk).update(**COLUMN_EDITS[column](v, day))
    assert _findings(), column


# --- the command and the database --------------------------------------------------------------------


def test_verify_history_command_exits_0_when_intact_and_1_with_a_report(day):
    out = io.StringIO()
    call_command("verify_history", "--progress", "none", stdout=out)
    assert "5 versions of 3 addresses checked" in out.getvalue() and "intact" in out.getvalue()
    allow_history_tampering()
    _newest(day["a"]).delete()
    out = io.StringIO()
    with pytest.raises(SystemExit) as exc:
        call_command("verify_history", "--progress", "none", stdout=out)
    assert exc.value.code == 1
    assert f"BROKEN address {day['a'].pk}" in out.getvalue() and "problems" in out.getvalue()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the triggers are PostgreSQL's")
def test_postgresql_rejects_update_and_delete_of_history(day):
    for attempt in (
        lambda: AddressVersion.objects.filter(address_id=day["a"].pk).update(actor_name="x"),
        lambda: AddressVersion.objects.filter(address_id=day["a"].pk).delete(),
        lambda: HistoryHead.objects.filter(address_id=day["a"].pk).delete(),
    ):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            attempt()
    assert AddressVersion.objects.filter(address_id=day["a"].pk).count() == 3


# --- checkpoints ------------------------------------------------------------------------------------


def test_a_checkpoint_then_a_normal_day_verifies_clean(day, sales):
    first = history_verify(checkpoint=True)
    assert first.ok and first.checkpoint.addresses == 3 and first.checkpoint.versions == 5
    address_update(address=day["b"], expected_version=1, detail="建国路89号", actor=sales)
    customer_delete(customer=Customer.objects.get(pk=day["c"].customer_id), actor=sales)
    assert history_verify().ok


def test_an_address_deleted_with_its_whole_history_and_head_is_caught_by_the_checkpoint(day):
    assert history_verify(checkpoint=True).ok
    allow_history_tampering()
    AddressVersion.objects.filter(address_id=day["b"].pk).delete()
    HistoryHead.objects.filter(address_id=day["b"].pk).delete()
    Address.objects.filter(pk=day["b"].pk).delete()
    (finding,) = _findings()
    assert (
        finding.startswith("history: the history as of the checkpoint") and "rows written by then" in finding
    )


def test_an_altered_checkpoint_is_caught(day):
    from trust.models import HistoryCheckpoint

    assert history_verify(checkpoint=True).ok
    allow_history_tampering()
    HistoryCheckpoint.objects.update(versions=4)
    assert any("checkpoint" in f and "was altered" in f for f in _findings())
