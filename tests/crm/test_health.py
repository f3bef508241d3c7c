"""/healthz and the deployment checks of the production path."""

import pytest
from django.core.checks import run_checks
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_healthz_answers_ok_without_login_when_database_and_cache_answer(client):
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database:default": "ok", "cache": "ok"}}


def test_healthz_answers_503_naming_the_cache_when_it_fails(client, monkeypatch):
    from crm import health

    def broken(*args, **kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr(health.cache, "set", broken)
    response = client.get(reverse("healthz"))
    assert response.status_code == 503 and response.json()["checks"]["cache"] == "fail"


def test_a_per_process_cache_is_a_deployment_warning(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    assert "dizhi.W001" in [m.id for m in run_checks(include_deployment_checks=True)]
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": "/tmp/x"}
    }
    assert "dizhi.W001" not in [m.id for m in run_checks(include_deployment_checks=True)]
