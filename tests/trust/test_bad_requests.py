"""Malformed query parameters answer 400, never 500 (issue #30, item 4)."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

BAD = [
    "/customers/?ids=abc",
    "/customers/?ids=1,abc",
    "/customers/?ids=99999999999999999999999",
    "/imports/export/?ids=abc",
    "/imports/export/?format=xlsx&ids=-1",
    "/map/clusters/?ids=abc&zoom=5&bbox=100,20,120,40",
    "/map/clusters/?ids=abc&zoom=16&bbox=113.9,22.5,114,22.6",
    "/map/nearby/?lat=1e308&lng=1e308",
    "/map/nearby/?lat=91&lng=0",
    "/map/nearby/?lat=22.5&lng=113.9&ids=abc",
]


@pytest.fixture(params=["manager", "sales"])
def client_as(request):
    client = Client(raise_request_exception=False)
    client.force_login(request.getfixturevalue(request.param))
    return client


@pytest.mark.parametrize("url", BAD)
def test_malformed_parameters_answer_400(client_as, url):
    assert client_as.get(url).status_code == 400


@pytest.mark.parametrize(
    "url",
    [
        "/customers/?ids=1,2",
        "/imports/export/?ids=1",
        "/map/clusters/?ids=1&zoom=5&bbox=100,20,120,40",
        "/map/nearby/?lat=22.5&lng=113.9",
    ],
)
def test_well_formed_parameters_still_answer_200(client_as, url):
    response = client_as.get(url)
    assert response.status_code == 200
    if hasattr(response, "streaming_content"):
        b"".join(response.streaming_content)
