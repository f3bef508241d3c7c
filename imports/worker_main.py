"""The entry point of a spawned import worker (imports.worker_process starts it): reads the
job's spec from stdin, sets Django up, then writes its share of the rows. Nothing imports it."""

import os
import pickle
import sys


def run() -> None:
    job_id, worker, workers, spec = pickle.loads(sys.stdin.buffer.read())
    os.environ["DJANGO_SETTINGS_MODULE"] = spec["settings"]
    import django

    django.setup()
    from imports.workers import spawned_worker

    spawned_worker(job_id, worker, workers, spec)
