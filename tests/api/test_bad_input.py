"""Each kind of bad input: a clear 4xx with details (problem+json), and nothing written."""

from datetime import timedelta

import pytest
from django.utils import timezone

from api.choices import TokenScope
from api.models import ApiToken
from api.services import token_create, token_revoke
from customers.models import Customer

pytestmark = pytest.mark.django_db


def _problem(response, status):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status and body["title"] and body["type"]
    return body


def test_malformed_json(api_as, sales):
    _problem(api_as(sales).post("/customers/", raw='{"name": "甲",'), 400)
    assert not Customer.objects.exists()


def test_wrong_types_name_the_field(api_as, sales):
    body = _problem(api_as(sales).post("/customers/", {"name": "甲", "kind": "robot", "phone": 5}), 400)
    pointers = {e["pointer"] for e in body["errors"]}
    assert {"#/kind", "#/phone"} <= pointers
    assert not Customer.objects.exists()


def test_unknown_fields_are_refused(api_as, sales):
    body = _problem(api_as(sales).post("/customers/", {"name": "甲", "colour": "red"}), 400)
    assert body["errors"][0]["pointer"] == "#/colour"
    assert not Customer.objects.exists()


def test_body_over_the_limit(api_as, sales, settings):
    settings.API_MAX_BODY_BYTES = 100
    _problem(api_as(sales).post("/customers/", {"name": "甲" * 200}), 413)
    assert not Customer.objects.exists()


def test_missing_token(api_as):
    body = _problem(api_as(None).get("/customers/"), 401)
    assert "Bearer" in body["detail"]


def test_wrong_token(client):
    response = client.get("/api/v1/customers/", headers={"Authorization": "Bearer dz_abc_def"})
    _problem(response, 401)


def test_expired_token(client, sales):
    issued = token_create(user=sales, name="t", expires_at=timezone.now() + timedelta(seconds=60))
    ApiToken.objects.filter(pk=issued.token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = client.get("/api/v1/customers/", headers={"Authorization": f"Bearer {issued.plaintext}"})
    assert "expired" in _problem(response, 401)["detail"]


def test_revoked_token(client, sales):
    issued = token_create(user=sales, name="t")
    token_revoke(token=issued.token, actor=sales)
    response = client.get("/api/v1/customers/", headers={"Authorization": f"Bearer {issued.plaintext}"})
    assert "revoked" in _problem(response, 401)["detail"]


def test_read_token_cannot_write(api_as, sales):
    api = api_as(sales, scope=TokenScope.READ)
    assert api.get("/customers/").status_code == 200
    _problem(api.post("/customers/", {"name": "甲"}), 403)
    assert not Customer.objects.exists()


def test_token_is_stored_hashed(sales):
    issued = token_create(user=sales, name="t")
    row = ApiToken.objects.get(pk=issued.token.pk)
    secret = issued.plaintext.rsplit("_", 1)[-1]
    assert secret not in row.secret_hash and issued.plaintext not in str(row.__dict__)


def test_rate_limit_answers_429_with_retry_after(api_as, sales, settings):
    settings.API_RATE_LIMIT_PER_MINUTE = 3
    api = api_as(sales)
    statuses = [api.get("/customers/").status_code for _ in range(4)]
    assert statuses[:3] == [200, 200, 200]
    response = api.get("/customers/")
    _problem(response, 429)
    assert 1 <= int(response["Retry-After"]) <= 60


def test_invalid_filter_and_cursor(api_as, sales):
    api = api_as(sales)
    _problem(api.get("/customers/", {"sort": "sideways"}), 400)
    _problem(api.get("/customers/", {"cursor": "not-a-cursor"}), 400)
    _problem(api.get("/customers/", {"limit": 10_000}), 400)


def test_idempotency_key_replays_the_first_answer_and_writes_nothing(api_as, sales):
    api = api_as(sales)
    headers = {"Idempotency-Key": "order-42"}
    first = api.post("/customers/", {"name": "甲"}, headers=headers)
    again = api.post("/customers/", {"name": "甲"}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert Customer.objects.count() == 1
    _problem(api.post("/customers/", {"name": "乙"}, headers=headers), 422)
    assert Customer.objects.count() == 1


def test_idempotency_key_is_freed_by_a_failed_request(api_as, sales):
    api = api_as(sales)
    headers = {"Idempotency-Key": "k1"}
    assert (
        api.post(
            "/customers/", {"name": "甲", "addresses": [{"district_code": "999999"}]}, headers=headers
        ).status_code
        == 400
    )
    assert (
        api.post(
            "/customers/", {"name": "甲", "addresses": [{"district_code": "999999"}]}, headers=headers
        ).status_code
        == 400
    )
    assert not Customer.objects.exists()


def test_openapi_document_and_offline_docs(client):
    schema = client.get("/api/v1/openapi.json").json()
    assert schema["openapi"].startswith("3.1")
    assert "/api/v1/customers/" in schema["paths"]
    docs = client.get("/api/v1/docs")
    assert docs.status_code == 200
    assert b"cdn" not in docs.content.lower()
