import json
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import expect

from api.models import WebhookDelivery, WebhookEndpoint
from customers.services import customer_create

pytestmark = pytest.mark.browser


@pytest.fixture
def receiver(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True
    received = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", received
    server.shutdown()


def test_manager_creates_a_token_and_a_webhook_endpoint(page, login, live_server, manager, receiver):
    url, received = receiver
    login(page, manager)

    # A token, shown once, that works against the API.
    page.goto(f"{live_server.url}/api/tokens/")
    page.fill('input[name="name"]', "ERP 同步")
    page.select_option('select[name="scope"]', "write")
    page.locator("#token-form button[type=submit]").click()
    plaintext = page.locator("#token-plaintext").input_value()
    assert plaintext.startswith("dz_")
    expect(page.locator("#token-table tbody tr", has_text="ERP 同步")).to_have_count(1)
    request = urllib.request.Request(
        f"{live_server.url}/api/v1/customers/", headers={"Authorization": f"Bearer {plaintext}"}
    )
    with urllib.request.urlopen(request) as response:
        assert json.load(response)["items"] == []

    # A webhook endpoint, which then hears about a new customer.
    page.goto(f"{live_server.url}/api/webhooks/")
    page.fill('input[name="url"]', url)
    page.fill('input[name="description"]', "ERP")
    page.locator("#webhook-form button[type=submit]").click()
    page.wait_for_url("**/api/webhooks/*/")
    endpoint = WebhookEndpoint.objects.get()
    expect(page.locator("#webhook-secret")).to_have_text(endpoint.secret)

    customer_create(name="网页钩子客户")
    assert [m["type"] for m in received] == ["customer.created"]
    page.reload()
    row = page.locator("#delivery-table tbody tr").first
    expect(row).to_contain_text("customer.created")
    expect(row).to_contain_text(WebhookDelivery.objects.get().message_id)
    page.screenshot(path="/tmp/api-webhook-endpoint.png", full_page=True)
