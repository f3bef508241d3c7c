"""The default task backend: tasks run in a background thread, after the enqueuing commit."""

import threading

import pytest
from django.db import transaction
from django.tasks import TaskResultStatus, task

from crm.tasks_thread import wait_idle

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.thread_tasks]

ran: list[tuple[str, str]] = []


@task
def record(*, value: str) -> str:
    ran.append((value, threading.current_thread().name))
    return value.upper()


@task
def explode() -> None:
    raise ValueError("no such file")


@pytest.fixture(autouse=True)
def clean():
    ran.clear()
    yield
    wait_idle(timeout=10)


def test_a_task_runs_in_the_background_thread_and_keeps_its_result():
    result = record.enqueue(value="a")
    wait_idle(timeout=10)
    assert ran == [("a", ran[0][1])] and ran[0][1].startswith("dizhi-task")
    assert ran[0][1] != threading.current_thread().name
    assert result.status == TaskResultStatus.SUCCESSFUL and result.return_value == "A"


def test_a_task_enqueued_in_a_transaction_waits_for_the_commit():
    with transaction.atomic():
        record.enqueue(value="after commit")
        wait_idle(timeout=10)
        assert ran == []
    wait_idle(timeout=10)
    assert [v for v, _t in ran] == ["after commit"]


def test_a_rolled_back_transaction_runs_nothing():
    with pytest.raises(RuntimeError), transaction.atomic():
        record.enqueue(value="never")
        raise RuntimeError
    wait_idle(timeout=10)
    assert ran == []


def test_tasks_run_one_at_a_time_in_order_and_a_failure_is_recorded(caplog):
    failing = explode.enqueue()
    results = [record.enqueue(value=str(i)) for i in range(5)]
    wait_idle(timeout=10)
    assert [v for v, _t in ran] == ["0", "1", "2", "3", "4"]
    assert all(r.status == TaskResultStatus.SUCCESSFUL for r in results)
    assert failing.status == TaskResultStatus.FAILED
    assert "ValueError: no such file" in failing.errors[0].traceback
    assert "no such file" in caplog.text
