"""Import workers as fresh interpreters, for a parent that must not fork (it has threads).

`start()` runs `python -c "...worker_main.run()"` with the job's spec pickled to its
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
        [sys.executable, "-c", "from imports.worker_main import run; run()"],
        stdin=subprocess.PIPE,
        env=env,
    )
    popen.stdin.write(pickle.dumps((job_id, worker, workers, spec)))
    popen.stdin.close()
    return Worker(popen)
