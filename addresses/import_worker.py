"""Import workers as fresh interpreters, for a parent that must not fork (it has threads).

`start()` runs `python -c "...import_worker.run()"` with the job's spec pickled to its
stdin. A plain subprocess rather than multiprocessing's "spawn", which would import the
parent's __main__ module again in the child (a server's entry script, say). This module
imports no models at the top: the child reads it before Django is set up.
"""

import os
import pickle
import subprocess
import sys


class Worker:
    """The few methods of multiprocessing.Process the import's parent loop uses."""

    def __init__(self, popen: subprocess.Popen):
        self.popen = popen

    def is_alive(self) -> bool:
        return self.popen.poll() is None

    def join(self) -> None:
        self.popen.wait()

    @property
    def exitcode(self) -> int | None:
        return self.popen.returncode


def start(job_id: int, worker: int, workers: int, spec: dict) -> Worker:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    popen = subprocess.Popen(
        [sys.executable, "-c", "from addresses.import_worker import run; run()"],
        stdin=subprocess.PIPE,
        env=env,
    )
    popen.stdin.write(pickle.dumps((job_id, worker, workers, spec)))
    popen.stdin.close()
    return Worker(popen)


def run() -> None:
    job_id, worker, workers, spec = pickle.loads(sys.stdin.buffer.read())
    os.environ["DJANGO_SETTINGS_MODULE"] = spec["settings"]
    import django

    django.setup()
    from addresses.importing import spawned_worker

    spawned_worker(job_id, worker, workers, spec)
