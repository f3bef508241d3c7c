"""Content-Security-Policy without inline script or eval, and idle sessions ending (issue #30)."""

import time

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_pages_carry_a_policy_that_allows_no_inline_script_or_eval(client, sales):
    client.force_login(sales)
    policy = client.get("/customers/")["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["script-src"] == "'self'"
    assert directives["object-src"] == "'none'" and directives["frame-ancestors"] == "'none'"
    assert "unsafe-eval" not in policy


def test_no_template_uses_an_htmx_event_filter_which_would_need_eval():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    for template in (root / "templates").rglob("*.html"):
        text = template.read_text()
        assert "hx-on" not in text and "js:" not in text, template
        for trigger in text.split('hx-trigger="')[1:]:
            assert "[" not in trigger.split('"', 1)[0], template


def test_an_idle_session_ends_and_an_active_one_goes_on(settings, sales):
    settings.SESSION_IDLE_MINUTES = 30
    client = Client()
    client.force_login(sales)
    assert client.get("/customers/").status_code == 200
    session = client.session
    session["_dizhi_last_seen"] = int(time.time()) - 29 * 60
    session.save()
    assert client.get("/customers/").status_code == 200  # 29 minutes idle: still in
    session = client.session
    assert session["_dizhi_last_seen"] >= int(time.time()) - 5  # and the clock restarted
    session["_dizhi_last_seen"] = int(time.time()) - 31 * 60
    session.save()
    response = client.get("/customers/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert "_auth_user_id" not in client.session
