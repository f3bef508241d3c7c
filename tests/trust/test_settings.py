"""Production settings refuse the public development key (issue #30, item 3)."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRINT = (
    "import django, json; from django.conf import settings; django.setup(); "
    "print(json.dumps([settings.SECRET_KEY[:6], getattr(settings, 'SECURE_PROXY_SSL_HEADER', None)]))"
)


def _run(**env_vars):
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DEBUG", "SECURE_PROXY_SSL_HEADER")}
    env.update(DJANGO_SETTINGS_MODULE="crm.settings", DIZHI_ENV_FILE=os.devnull, **env_vars)
    return subprocess.run([sys.executable, "-c", PRINT], cwd=ROOT, env=env, capture_output=True, text=True)


def test_debug_off_without_secret_key_refuses_to_start():
    done = _run(DEBUG="false")
    assert done.returncode != 0
    assert "ImproperlyConfigured" in done.stderr and "SECRET_KEY is not set" in done.stderr


def test_debug_off_with_the_public_development_key_refuses_to_start():
    done = _run(DEBUG="false", SECRET_KEY="dizhi-insecure-development-key-change-me")
    assert done.returncode != 0 and "SECRET_KEY" in done.stderr


def test_debug_off_with_a_key_starts_and_trusts_no_proxy_header_unless_told():
    done = _run(DEBUG="false", SECRET_KEY="k" * 50)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == ["kkkkkk", None]
    told = _run(DEBUG="false", SECRET_KEY="k" * 50, SECURE_PROXY_SSL_HEADER="HTTP_X_FORWARDED_PROTO,https")
    assert json.loads(told.stdout) == ["kkkkkk", ["HTTP_X_FORWARDED_PROTO", "https"]]


def test_development_with_debug_on_needs_no_key():
    done = _run(DEBUG="true")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)[0] == "dizhi-"
