import pytest

from api.models import ApiToken, WebhookEndpoint
from api.services import token_create

pytestmark = pytest.mark.django_db


def test_token_page_creates_a_token_shown_once(client, sales):
    client.force_login(sales)
    response = client.post("/api/tokens/", {"name": "ERP sync", "scope": "write", "expires_in": "90"})
    assert response.status_code == 201
    token = ApiToken.objects.get(user=sales)
    plaintext = response.context["issued"].plaintext
    assert plaintext.startswith(f"dz_{token.prefix}_") and plaintext.encode() in response.content
    assert token.scope == "write" and token.expires_at is not None
    again = client.get("/api/tokens/")
    assert plaintext.encode() not in again.content and f"dz_{token.prefix}_".encode() in again.content
    api = client.get("/api/v1/customers/", headers={"Authorization": f"Bearer {plaintext}"})
    assert api.status_code == 200


def test_sales_sees_and_revokes_only_their_own_tokens(client, sales, other_sales, manager):
    theirs = token_create(user=other_sales, name="theirs").token
    mine = token_create(user=sales, name="mine").token
    client.force_login(sales)
    page = client.get("/api/tokens/")
    assert [t.pk for t in page.context["tokens"]] == [mine.pk]
    assert client.post(f"/api/tokens/{theirs.pk}/revoke/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.revoked_at is None
    client.force_login(manager)  # a manager sees and revokes their team's
    assert client.post(f"/api/tokens/{theirs.pk}/revoke/").status_code == 302
    theirs.refresh_from_db()
    assert theirs.revoked_at is not None


def test_webhook_pages_are_for_managers(client, sales, manager, settings):
    client.force_login(sales)
    assert client.get("/api/webhooks/").status_code == 403
    assert (
        client.post(
            "/api/webhooks/", {"url": "https://93.184.216.34/h", "events": ["customer.created"]}
        ).status_code
        == 403
    )
    assert not WebhookEndpoint.objects.exists()
    client.force_login(manager)
    refused = client.post("/api/webhooks/", {"url": "http://127.0.0.1:9/h", "events": ["customer.created"]})
    assert refused.status_code == 200 and refused.context["form"].errors["url"]
    assert not WebhookEndpoint.objects.exists()
    created = client.post(
        "/api/webhooks/", {"url": "https://93.184.216.34/h", "events": ["customer.created"]}
    )
    endpoint = WebhookEndpoint.objects.get()
    assert created.status_code == 302 and created["Location"] == f"/api/webhooks/{endpoint.pk}/"
    detail = client.get(created["Location"])
    assert endpoint.secret.encode() in detail.content
    client.post(f"/api/webhooks/{endpoint.pk}/disable/")
    endpoint.refresh_from_db()
    assert not endpoint.is_active
