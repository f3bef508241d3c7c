"""gunicorn's settings for Dizhi: `gunicorn crm.wsgi -c python:crm.gunicorn_conf` (scripts/serve).

Workers: gunicorn's own WEB_CONCURRENCY, default two per core plus one (sync workers: the pages
are short and database-bound; an export streams from one worker for its whole length, hence the
long timeout). gunicorn's other variables (GUNICORN_CMD_ARGS: --bind, --threads, ...) apply too.
LOG_FORMAT=json makes the access and error logs JSON lines, like Django's (crm/settings.py).
"""

import multiprocessing
import os

workers = int(os.environ.get("WEB_CONCURRENCY", 2 * multiprocessing.cpu_count() + 1))
timeout = 300  # a million-row XLSX export streams for about half a minute on two cores
graceful_timeout = 30
max_requests = 2000  # recycle workers now and then (bounded memory over weeks)
max_requests_jitter = 200
accesslog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(B)s %(M)sms "%(a)s"'
# No control socket: its default path is one per user, so a second gunicorn on the machine (a
# test, a second site) would take it over; reload with `kill -HUP` instead.
control_socket_disable = True
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

if os.environ.get("LOG_FORMAT") == "json":
    _json = {
        "()": "pythonjsonlogger.json.JsonFormatter",
        "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
        "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
    }
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": _json},
        "handlers": {
            "error": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"},
            "access": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stdout"},
        },
        "root": {"handlers": ["error"], "level": "INFO"},
        "loggers": {
            "gunicorn.error": {"handlers": ["error"], "level": "INFO", "propagate": False},
            "gunicorn.access": {"handlers": ["access"], "level": "INFO", "propagate": False},
        },
    }
