"""A django.tasks backend that runs tasks in a background thread of the web process.

The default (TASKS_BACKEND=thread): nothing to install or run beside the app, yet a
request that enqueues an import or a geocoding refinement answers at once, and the
upload page shows the import's progress while it runs. Tasks run one at a time, in the
order they were enqueued, after the enqueuing transaction commits (they read what it
wrote). They live as long as the process: an import cut off by a restart resumes from
its checkpoints when run again; production queues them in the database instead
(TASKS_BACKEND=database and `manage.py db_worker`).
"""

import threading
from concurrent.futures import ThreadPoolExecutor

from django.db import connections, transaction
from django.tasks.backends.immediate import ImmediateBackend

_lock = threading.Lock()
_executor: ThreadPoolExecutor | None = None


def _pool() -> ThreadPoolExecutor:
    global _executor
    with _lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dizhi-task")
        return _executor


def wait_idle(timeout: float | None = None) -> None:
    """Block until every task enqueued so far has run (for tests and shutdown hooks)."""
    _pool().submit(lambda: None).result(timeout=timeout)


class ThreadBackend(ImmediateBackend):
    """ImmediateBackend's execution (status, signals, errors kept on the TaskResult),
    moved to a worker thread."""

    def _execute_task(self, task_result):
        transaction.on_commit(lambda: _pool().submit(self._run, task_result), using="default")

    def _run(self, task_result):
        try:
            super()._execute_task(task_result)  # records a failure on the result and logs it
        finally:
            connections.close_all()
