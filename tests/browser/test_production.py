"""The production path, end to end: Dizhi built as a wheel, installed outside the checkout, served
by gunicorn with DEBUG off and WhiteNoise's compressed hashed static files, its background work
run by `db_worker`, exactly as README "Run in production" says (plain HTTP allowed for the test).
"""

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from tests.browser.conftest import new_context

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "prod-" + secrets.token_hex(8)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _database_url(tmp: Path) -> str:
    """A database of its own beside the test database (PostgreSQL), or a file (SQLite)."""
    db = django_settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{tmp / 'prod.sqlite3'}"
    import psycopg

    name = f"{db['NAME']}_prod"
    server = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    with psycopg.connect(f"{server}/postgres", autocommit=True, password=db.get("PASSWORD") or None) as con:
        con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        con.execute(f'CREATE DATABASE "{name}"')
    return f"{server}/{name}"


def _wait_healthy(url: str, processes, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for p in processes:
            assert p.poll() is None, f"{p.args} exited with {p.returncode}"
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise AssertionError("the production server did not become healthy")


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """`pip install .` of this checkout (without dependencies: the test venv has them) into a
    folder of its own, so nothing below can read the checkout's files."""
    tmp = tmp_path_factory.mktemp("installed")
    pip = [sys.executable, "-m", "pip", "-q"]
    subprocess.run(
        [*pip, "wheel", str(ROOT), "--no-deps", "--no-build-isolation", "-w", str(tmp / "wheel")], check=True
    )
    wheel = next((tmp / "wheel").glob("dizhi-*.whl"))
    subprocess.run([*pip, "install", "--no-deps", "--target", str(tmp / "site"), str(wheel)], check=True)
    shutil.rmtree(tmp / "site" / "bin", ignore_errors=True)
    return tmp / "site"


@pytest.fixture(scope="module")
def production(installed, tmp_path_factory):
    """gunicorn (2 workers) and db_worker from the installed package, run from an empty folder."""
    if not django_settings.IS_POSTGRES:
        pytest.skip("production runs on PostgreSQL (scripts/serve): tested in the PostgreSQL run")
    tmp = tmp_path_factory.mktemp("production")
    port = _free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "DATABASE_", "DEBUG", "TASKS_", "STATIC_", "PYTHON"))
    }
    env.update(
        PYTHONPATH=str(installed),
        DATABASE_URL=_database_url(tmp),
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOW_PLAIN_HTTP="true",
        ALLOWED_HOSTS="127.0.0.1",
        STATIC_ROOT=str(tmp / "static"),
        MEDIA_ROOT=str(tmp / "media"),
        LANGUAGE_CODE="en",
        LOG_FORMAT="json",
        WEB_CONCURRENCY="2",
        DJANGO_SUPERUSER_PASSWORD=PASSWORD,
    )
    dizhi = [sys.executable, "-m", "crm"]

    def run(*args):
        subprocess.run([*dizhi, *args], cwd=tmp, env=env, check=True, stdout=subprocess.DEVNULL)

    run("migrate", "--no-input")
    run("load_regions")
    run("collectstatic", "--no-input")
    run("createsuperuser", "--no-input", "--username", "boss", "--email", "boss@example.com")
    log = open(tmp / "server.log", "w")
    web = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "crm.wsgi",
            "-c",
            "python:crm.gunicorn_conf",
            "--bind",
            f"127.0.0.1:{port}",
        ],
        cwd=tmp,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    worker = subprocess.Popen(
        [*dizhi, "db_worker", "--interval", "0.2"], cwd=tmp, env=env, stdout=log, stderr=log
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, (web, worker))
        yield {"url": url, "log": tmp / "server.log", "installed": installed}
    finally:
        for p in (web, worker):
            p.terminate()
        for p in (web, worker):
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
        log.close()


def _get(url: str, **headers):
    request = urllib.request.Request(url, headers=headers)
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, dict(response.headers), response.read()


def test_the_installed_package_carries_templates_static_files_locale_and_region_data(installed):
    crm = installed / "crm" / "site"
    assert (crm / "templates" / "base.html").is_file()
    assert (crm / "static" / "css" / "dizhi.css").is_file()
    assert (crm / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.mo").is_file()
    assert (installed / "geo" / "data" / "regions_cn.csv").is_file()
    assert not (installed / "tests").exists() and not (installed / "bench").exists()


def test_healthz_reports_database_and_cache(production):
    status, headers, body = _get(f"{production['url']}/healthz")
    assert status == 200 and "no-cache" in headers["Cache-Control"]
    assert json.loads(body) == {"status": "ok", "checks": {"database:default": "ok", "cache": "ok"}}


def test_static_files_are_hashed_and_served_compressed(production):
    _, _, body = _get(f"{production['url']}/accounts/login/")
    css = next(
        part.split('"')[0] for part in body.decode().split('href="') if part.startswith("/static/css/dizhi.")
    )
    assert css != "/static/css/dizhi.css"  # content-hashed name
    for encoding in ("br", "gzip"):
        status, headers, _ = _get(production["url"] + css, **{"Accept-Encoding": encoding})
        assert status == 200 and headers["Content-Encoding"] == encoding
        assert "immutable" in headers["Cache-Control"]


def test_a_manager_imports_customers_through_db_worker_and_finds_them(production, browser):
    url = production["url"]
    context = new_context(browser, locale="en-US")
    context.set_default_timeout(30_000)
    page = context.new_page()
    page.goto(f"{url}/accounts/login/")
    page.fill('input[name="username"]', "boss")
    page.fill('input[name="password"]', PASSWORD)
    page.locator('form button[type="submit"]').last.click()
    page.wait_for_load_state()
    assert "/accounts/login/" not in page.url

    upload = production["log"].parent / "客户.csv"
    upload.write_bytes("外部编号,客户名称,地址\nP1,生产客户,北京市朝阳区建国路88号\n".encode("utf-8-sig"))
    page.goto(f"{url}/imports/")
    page.set_input_files("#id_file", str(upload))
    page.get_by_role("button", name="Upload and check").click()
    # db_worker validates it (its first task loads the address parser: a minute on a busy machine)
    page.wait_for_selector("[data-testid=import-confirm]", timeout=240_000)
    page.click("[data-testid=import-confirm]")
    page.wait_for_function(
        "() => document.querySelector('#import-status').dataset.status === 'done'", timeout=240_000
    )
    page.click("[data-testid=import-view-customers]")
    page.wait_for_selector("table.dz-table")
    page.get_by_role("link", name="生产客户").click()
    page.wait_for_load_state()
    assert "北京市" in page.content()
    page.screenshot(path="/tmp/dz-production-customer.png", full_page=True)
    errors = list(context.console_errors)
    context.close()
    assert not errors, "JavaScript errors:\n" + "\n".join(errors)

    lines = production["log"].read_text().splitlines()
    access = [json.loads(line) for line in lines if line.startswith("{") and '"gunicorn.access"' in line]
    assert any("POST /imports/" in entry["message"] for entry in access)  # JSON-lines access log
