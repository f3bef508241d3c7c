"""Login throttling (issue #30, item 2): django-axes locks a username out from one address after
LOGIN_FAILURE_LIMIT failures, says so, lets an admin unlock it, covers the admin's login, and
once locked no password reaches the hasher."""

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.hashers import MD5PasswordHasher
from django.test import Client

pytestmark = pytest.mark.django_db

LIMIT = settings.AXES_FAILURE_LIMIT


class CountingHasher(MD5PasswordHasher):
    """The tests' MD5 hasher, counting every password it hashes or checks."""

    calls = 0
    _verifying = False

    def verify(self, password, encoded):
        CountingHasher.calls += 1
        CountingHasher._verifying = True
        try:
            return super().verify(password, encoded)
        finally:
            CountingHasher._verifying = False

    def encode(self, password, salt, iterations=None):
        # Django hashes the password of an unknown username too (to take as long).
        if not CountingHasher._verifying:
            CountingHasher.calls += 1
        return super().encode(password, salt)


@pytest.fixture
def counting_hasher(settings):
    settings.PASSWORD_HASHERS = ["tests.trust.test_login.CountingHasher"]
    CountingHasher.calls = 0
    return CountingHasher


def _log_in(client, username, password, url="/accounts/login/"):
    return client.post(url, {"username": username, "password": password, "next": "/customers/"})


def _logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_fifty_wrong_passwords_then_the_right_one_does_not_log_in(sales):
    client = Client()
    for _ in range(50):
        _log_in(client, "sales1", "wrong")
    response = _log_in(client, "sales1", "pw-sales1")
    assert response.status_code == 429
    assert not _logged_in(client)
    assert "failed log-ins" in response.content.decode() or "登录失败" in response.content.decode()


def test_lockout_says_why_and_how_to_get_back_in(sales):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    for _ in range(LIMIT):
        _log_in(client, "sales1", "wrong")
    page = _log_in(client, "sales1", "pw-sales1").content.decode()
    assert f"After {LIMIT} failed log-ins for this account from your address" in page
    assert "ask an administrator to unlock it" in page


def test_a_few_failures_below_the_limit_still_let_the_right_password_in(sales):
    client = Client()
    for _ in range(LIMIT - 1):
        assert _log_in(client, "sales1", "wrong").status_code == 200
    assert _log_in(client, "sales1", "pw-sales1").status_code == 302
    assert _logged_in(client)


def test_lockout_is_per_username_and_address(sales, other_sales):
    attacker = Client(REMOTE_ADDR="203.0.113.9")
    for _ in range(LIMIT):
        _log_in(attacker, "sales1", "wrong")
    assert _log_in(attacker, "sales1", "pw-sales1").status_code == 429
    # The same account from the office, and another account from the attacker's address, still work.
    office = Client(REMOTE_ADDR="198.51.100.7")
    assert _log_in(office, "sales1", "pw-sales1").status_code == 302
    assert _log_in(attacker, "sales2", "pw-sales2").status_code == 302


def test_after_the_lockout_no_password_reaches_the_hasher(sales, counting_hasher):
    client = Client()
    for _ in range(LIMIT):
        _log_in(client, "sales1", "wrong")
    assert counting_hasher.calls == LIMIT  # each failure before the lockout was checked
    counting_hasher.calls = 0
    for password in ["wrong", "pw-sales1", *(f"guess{i}" for i in range(20))]:
        _log_in(client, "sales1", password)
    _log_in(client, "sales1", "x", url="/admin/login/")
    assert counting_hasher.calls == 0


def test_admin_login_is_covered(sales, make_user):
    make_user("boss", role=None, is_staff=True, is_superuser=True)
    client = Client()
    for _ in range(LIMIT):
        _log_in(client, "boss", "wrong", url="/admin/login/")
    response = _log_in(client, "boss", "pw-boss", url="/admin/login/")
    assert response.status_code == 429
    assert not _logged_in(client)


def test_an_admin_unlocks_a_locked_out_user(sales, make_user):
    admin_user = make_user("boss", role=None, is_staff=True, is_superuser=True)
    client = Client()
    for _ in range(LIMIT):
        _log_in(client, "sales1", "wrong")
    assert _log_in(client, "sales1", "pw-sales1").status_code == 429
    admin = Client()
    admin.force_login(admin_user)
    attempt = AccessAttempt.objects.get(username="sales1")
    assert "sales1" in admin.get("/admin/axes/accessattempt/").content.decode()
    response = admin.post(f"/admin/axes/accessattempt/{attempt.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert _log_in(client, "sales1", "pw-sales1").status_code == 302
    assert _logged_in(client)
