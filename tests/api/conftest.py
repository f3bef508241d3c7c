import json

import pytest

from api.choices import TokenScope
from api.services import token_create


@pytest.fixture
def make_token():
    def make(user, scope=TokenScope.WRITE, **extra):
        return token_create(user=user, name=f"{user.username} token", scope=scope, **extra).plaintext

    return make


class ApiClient:
    """Django's test client speaking JSON with a bearer token."""

    def __init__(self, client, token):
        self.client, self.token = client, token

    def _headers(self, headers):
        out = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        out.update(headers or {})
        return out

    def get(self, path, params=None, headers=None):
        return self.client.get("/api/v1" + path, params or {}, headers=self._headers(headers))

    def send(self, method, path, body=None, headers=None, raw=None):
        data = raw if raw is not None else json.dumps(body if body is not None else {})
        return getattr(self.client, method)(
            "/api/v1" + path, data=data, content_type="application/json", headers=self._headers(headers)
        )

    def post(self, path, body=None, **kw):
        return self.send("post", path, body, **kw)

    def patch(self, path, body=None, **kw):
        return self.send("patch", path, body, **kw)

    def delete(self, path, **kw):
        return self.client.delete("/api/v1" + path, headers=self._headers(kw.get("headers")))


@pytest.fixture
def api_as(client, make_token):
    def make(user, scope=TokenScope.WRITE):
        return ApiClient(client, make_token(user, scope) if user is not None else None)

    return make
