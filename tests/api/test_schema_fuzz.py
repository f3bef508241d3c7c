"""Schemathesis against the API in-process (WSGI): generated requests for every operation must
never answer a server error, and every answer must match the OpenAPI document."""

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from api.services import token_create
from crm import roles

pytestmark = [pytest.mark.slow, pytest.mark.django_db]
CASES_PER_OPERATION = 70  # 16 operations: over 1,000 cases


def test_api_answers_match_the_schema_and_never_fail(make_user, settings_, make_customer):
    from crm.wsgi import application

    token = token_create(
        user=make_user("fuzz-manager", role=roles.MANAGER), name="fuzz", scope="write"
    ).plaintext
    for i in range(3):
        make_customer(f"客户{i}", external_id=f"F{i}")
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)
    cases = 0
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(
            max_examples=CASES_PER_OPERATION,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def call(case):
            nonlocal cases
            cases += 1
            case.call_and_validate(
                headers={"Authorization": f"Bearer {token}"},
                checks=[not_a_server_error, response_schema_conformance, status_code_conformance],
            )

        call()
    assert cases >= 1000


@pytest.fixture
def settings_(settings):
    """No rate limit; and requests keep the test's database connection (as Django's test client
    does: the WSGI handler would close it after each request, ending the test's transaction)."""
    settings.API_RATE_LIMIT_PER_MINUTE = 0
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield settings
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)
