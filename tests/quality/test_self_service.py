"""Self-service links (signed, hashed, single-use, expiring, revocable, rate-limited), the
customer's answers through the write path, points, and the weekly reminders."""

from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from addresses.models import Address
from addresses.services import address_create
from customers.models import Customer
from quality.models import PointsEntry, ReminderDigest, SelfServiceLink, SelfServiceSubmission
from quality.services import (
    Answer,
    LinkInvalid,
    reminders_send,
    self_service_link_create,
    self_service_link_get,
    self_service_link_revoke,
    self_service_review_decide,
    self_service_submit,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer(sales):
    c = Customer.objects.create(name="华南贸易有限公司", email="hn@example.com", owner=sales)
    address_create(customer=c, district_code="440305", detail="科苑路15号")
    address_create(customer=c, kind="registered", district_code="440106", detail="天河路385号")
    return c


def _url(token):
    return reverse("quality:self_service", args=[token])


def test_link_is_stored_hashed_and_works_once(client, customer, sales):
    link, token = self_service_link_create(customer=customer, actor=sales)
    assert token not in link.token_hash and len(link.token_hash) == 64
    page = client.get(_url(token))
    assert page.status_code == 200 and "科苑路15号" in page.content.decode()
    first, second = Address.objects.filter(customer=customer).order_by("pk")
    response = client.post(
        _url(token),
        {
            f"action_{first.pk}": "confirm",
            f"action_{second.pk}": "correct",
            f"text_{second.pk}": "广东省广州市天河区天河路208号",
        },
    )
    assert response.status_code == 200
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.verified_at is not None and second.detail == "天河路208号" and second.verified_at is not None
    assert first.versions.order_by("-version").first().channel == "self_service"
    assert sorted(PointsEntry.objects.values_list("reason", "points")) == [("confirm", 10), ("correct", 20)]
    assert client.get(_url(token)).status_code == 404  # used
    assert client.post(_url(token), {f"action_{first.pk}": "confirm"}).status_code == 404
    assert PointsEntry.objects.count() == 2


def test_expired_tampered_revoked_and_unknown_links_fail_alike(client, customer, sales):
    link, token = self_service_link_create(customer=customer, actor=sales)
    SelfServiceLink.objects.filter(pk=link.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert client.get(_url(token)).status_code == 404
    _link2, token2 = self_service_link_create(customer=customer, actor=sales)
    tampered = token2[:-1] + ("A" if token2[-1] != "A" else "B")
    assert client.get(_url(tampered)).status_code == 404
    link3, token3 = self_service_link_create(customer=customer, actor=sales)
    self_service_link_revoke(link=link3)
    assert client.get(_url(token3)).status_code == 404
    with pytest.raises(LinkInvalid):
        self_service_link_get(token="nothing:here")


def test_too_many_requests_are_refused(client, customer, settings):
    settings.QUALITY_LINK_RATE = (3, 60)
    codes = [client.get(_url(f"guess{i}:x")).status_code for i in range(5)]
    assert codes == [404, 404, 404, 429, 429]


def test_unparseable_correction_is_kept_for_review_and_nothing_is_lost(customer, sales):
    _link, token = self_service_link_create(customer=customer, actor=sales)
    address = Address.objects.filter(customer=customer).first()
    before = address.raw_text, address.detail, address.version
    (kept,) = self_service_submit(
        token=token, answers=[Answer(address.pk, "correct", "我搬家了，打电话问我")]
    )
    assert kept.status == "pending" and kept.raw_text == "我搬家了，打电话问我" and kept.problem
    address.refresh_from_db()
    assert (address.raw_text, address.detail, address.version) == before
    assert not PointsEntry.objects.exists()
    self_service_review_decide(
        submission=kept, apply=True, actor=sales, raw_text="广东省深圳市南山区科苑路99号"
    )
    address.refresh_from_db()
    assert address.detail == "科苑路99号"
    assert PointsEntry.objects.get().reason == "correct"


def test_corrections_held_for_review_by_setting(customer, sales, settings):
    settings.QUALITY_SELF_SERVICE_REVIEW = True
    _link, token = self_service_link_create(customer=customer, actor=sales)
    address = Address.objects.filter(customer=customer).first()
    (kept,) = self_service_submit(
        token=token, answers=[Answer(address.pk, "correct", "广东省深圳市南山区科苑路99号")]
    )
    assert kept.status == "pending"
    address.refresh_from_db()
    assert address.detail == "科苑路15号"


def test_answers_for_another_customers_address_are_ignored(customer, sales, make_customer):
    other = make_customer("别人", owner=sales)
    theirs = address_create(customer=other, district_code="310104", detail="漕溪北路88号")
    _link, token = self_service_link_create(customer=customer, actor=sales)
    assert self_service_submit(token=token, answers=[Answer(theirs.pk, "confirm")]) == []
    theirs.refresh_from_db()
    assert theirs.verified_at is None


def test_staff_link_page_emails_the_link_and_404s_for_invisible_customers(
    client, customer, sales, other_sales
):
    client.force_login(other_sales)
    assert (
        client.post(reverse("quality:link_create", args=[customer.pk]), {"send": "email"}).status_code == 404
    )
    client.force_login(sales)
    page = client.post(reverse("quality:link_create", args=[customer.pk]), {"send": "email"})
    assert page.status_code == 200
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["hn@example.com"]
    assert "/quality/s/" in mail.outbox[0].body


def test_points_page_filters_and_exports(client, customer, sales):
    _link, token = self_service_link_create(customer=customer, actor=sales)
    address = Address.objects.filter(customer=customer).first()
    self_service_submit(token=token, answers=[Answer(address.pk, "confirm")])
    client.force_login(sales)
    assert "华南贸易有限公司" in client.get(reverse("quality:points"), {"q": "华南"}).content.decode()
    assert "华南贸易有限公司" not in client.get(reverse("quality:points"), {"q": "别的"}).content.decode()
    csv_text = client.get(reverse("quality:points"), {"format": "csv"}).content.decode("utf-8-sig")
    assert "华南贸易有限公司,10,confirm" in csv_text


# -- reminders ----------------------------------------------------------------------


@pytest.fixture
def three_salespeople(make_user):
    users = []
    for i in range(3):
        user = make_user(f"rep{i}", email=f"rep{i}@example.com")
        c = Customer.objects.create(name=f"客户{i}", owner=user)
        address_create(customer=c, district_code="440305", detail=f"科苑路{i}号")
        users.append(user)
    return users


def test_reminder_run_killed_midway_and_run_again_sends_no_duplicates(three_salespeople, monkeypatch):
    from quality import services

    real_send, calls = services.send_mail, []

    def dying_send(*args, **kwargs):
        if len(calls) == 1:
            raise KeyboardInterrupt  # the process is stopped while sending the second e-mail
        calls.append(args)
        return real_send(*args, **kwargs)

    monkeypatch.setattr(services, "send_mail", dying_send)
    with pytest.raises(KeyboardInterrupt):
        reminders_send()
    assert len(mail.outbox) == 1
    monkeypatch.setattr(services, "send_mail", real_send)
    assert reminders_send() == 2
    assert sorted(m.to[0] for m in mail.outbox) == [
        "rep0@example.com",
        "rep1@example.com",
        "rep2@example.com",
    ]
    assert reminders_send() == 0
    assert len(mail.outbox) == 3
    assert ReminderDigest.objects.filter(sent_at__isnull=False).count() == 3


def test_no_submission_is_kept_for_a_used_link(customer, sales):
    _link, token = self_service_link_create(customer=customer, actor=sales)
    self_service_submit(token=token, answers=[])
    with pytest.raises(LinkInvalid):
        self_service_submit(token=token, answers=[])
    assert SelfServiceSubmission.objects.count() == 0
