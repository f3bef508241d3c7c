"""The read-replica router against a real PostgreSQL streaming replica, through a real server.

A primary cluster of the test's own (127.0.0.1:5434, initdb) gets the schema, the region tree and
demo users; `scripts/replica start` makes its streaming replica on 5433 with pg_basebackup; gunicorn
serves Dizhi with DATABASE_URL on the primary and DATABASE_REPLICA_URL on the replica. Two managers
use it while the replica keeps up, while its replay is paused (pg_wal_replay_pause: it lags as far
as the test wants), after it catches up, and while it is down. The X-Dizhi-Read header says which
database answered.
"""

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path

import psycopg
import pytest
import requests

pytestmark = [pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
PG_VERSIONS = (
    sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb")) if Path("/usr/lib/postgresql").exists() else []
)
PRIMARY_PORT = int(os.environ.get("DIZHI_TEST_PRIMARY_PORT", "5434"))
REPLICA_PORT = int(os.environ.get("REPLICA_PORT", "5433"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_postgres(*args):
    subprocess.run(
        ["runuser", "-u", "postgres", "--", *map(str, args)], check=True, stdout=subprocess.DEVNULL
    )


def _sql(port: int, query: str, db: str = "dizhi"):
    with psycopg.connect(f"postgresql://postgres@127.0.0.1:{port}/{db}", autocommit=True) as con:
        cursor = con.execute(query)
        return cursor.fetchone() if cursor.description else None


def _wait(predicate, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"gave up waiting for {what}")


@pytest.fixture(scope="module")
def clusters():
    from django.conf import settings

    if not settings.IS_POSTGRES:
        pytest.skip("the replica is PostgreSQL's: tested in the PostgreSQL run")
    if not PG_VERSIONS or os.geteuid() != 0 or not shutil.which("runuser"):
        pytest.skip("needs PostgreSQL's server binaries and root (the clusters run as postgres)")
    bin_dir = PG_VERSIONS[-1].parent
    base = Path(f"/var/lib/postgresql/dizhi-test-{os.getpid()}")
    primary_dir = base / "primary"
    env = {**os.environ, "REPLICA_DIR": str(base / "replica"), "PRIMARY_PORT": str(PRIMARY_PORT)}
    base.mkdir(parents=True)
    shutil.chown(base, "postgres", "postgres")
    try:
        _as_postgres(
            bin_dir / "initdb",
            "-D",
            primary_dir,
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        )
        _as_postgres(
            bin_dir / "pg_ctl", "-D", primary_dir, "-l", primary_dir / "server.log", "-w",
            "-o", f"-p {PRIMARY_PORT} -c listen_addresses=127.0.0.1 -c unix_socket_directories={base}",
            "start",
        )  # fmt: skip
        _sql(PRIMARY_PORT, "CREATE DATABASE dizhi", db="postgres")
        yield {"env": env, "bin": bin_dir, "replica_dir": base / "replica"}
    finally:
        subprocess.run(
            [ROOT / "scripts" / "replica", "stop"], env=env, check=False, stdout=subprocess.DEVNULL
        )
        subprocess.run(
            [
                "runuser",
                "-u",
                "postgres",
                "--",
                bin_dir / "pg_ctl",
                "-D",
                primary_dir,
                "-m",
                "fast",
                "-w",
                "stop",
            ],
            check=False,
            stdout=subprocess.DEVNULL,
        )
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def server(clusters, tmp_path_factory):
    """Migrated primary with regions and demo users, its replica, gunicorn on both."""
    tmp = tmp_path_factory.mktemp("replica")
    primary_url = f"postgres://postgres@127.0.0.1:{PRIMARY_PORT}/dizhi"
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_", "TASKS_", "STATIC_"))
    }
    env.update(DATABASE_URL=primary_url, DEBUG="false", ALLOW_PLAIN_HTTP="true", LANGUAGE_CODE="en")
    env.update(SECRET_KEY="replica-test-" + "x" * 50, MEDIA_ROOT=str(tmp / "media"), STATIC_MANIFEST="false")
    manage = [sys.executable, str(ROOT / "manage.py")]
    for args in (["migrate", "--no-input"], ["load_regions"], ["seed_demo", "--customers", "20"]):
        subprocess.run([*manage, *args], env=env, check=True, stdout=subprocess.DEVNULL)
    subprocess.run([ROOT / "scripts" / "replica", "start"], env={**os.environ, **clusters["env"]}, check=True)

    port = _free_port()
    env["DATABASE_REPLICA_URL"] = f"postgres://postgres@127.0.0.1:{REPLICA_PORT}/dizhi"
    env["CACHE_URL"] = f"filecache://{tmp / 'cache'}"  # one cache for both workers
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
        cwd=ROOT,
        env={**env, "WEB_CONCURRENCY": "2"},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"

    def healthy():
        assert web.poll() is None, (tmp / "server.log").read_text()[-3000:]
        try:
            return requests.get(f"{url}/healthz", timeout=10).status_code == 200
        except requests.RequestException:
            return False

    try:
        _wait(healthy, 120, "gunicorn")
        yield {"url": url, **clusters}
    finally:
        web.terminate()
        web.wait(timeout=30)
        log.close()


def _login(url: str, username: str, password: str) -> requests.Session:
    session = requests.Session()
    page = session.get(f"{url}/accounts/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    response = session.post(
        f"{url}/accounts/login/",
        data={"username": username, "password": password, "csrfmiddlewaretoken": token},
        headers={"Referer": f"{url}/accounts/login/"},
    )
    assert response.ok and "/accounts/login/" not in response.url
    return session


class _FormDefaults(HTMLParser):
    """What a browser would submit from a page's largest POST form, untouched."""

    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []
        self.select: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and (a.get("method") or "").lower() == "post":
            self.forms.append({})
        elif not self.forms or not a.get("name"):
            if tag == "option" and self.select and ("selected" in a or self.select not in self.forms[-1]):
                self.forms[-1][self.select] = a.get("value", "")
        elif tag == "input" and (a.get("type") not in ("checkbox", "radio") or "checked" in a):
            self.forms[-1][a["name"]] = a.get("value") or ""
        elif tag == "textarea":
            self.forms[-1][a["name"]] = ""
        elif tag == "select":
            self.select = a["name"]

    def handle_endtag(self, tag):
        if tag == "select":
            self.select = None


def _post_form(session: requests.Session, url: str, data: dict) -> requests.Response:
    parser = _FormDefaults()
    parser.feed(session.get(url).text)
    fields = max(parser.forms, key=len)
    response = session.post(url, data={**fields, **data}, headers={"Referer": url})
    assert response.ok and response.history, "the form was not accepted: " + response.text[:2000]
    return response


def _replica_caught_up() -> bool:
    primary = _sql(PRIMARY_PORT, "SELECT pg_current_wal_lsn()::text")[0]
    return _sql(REPLICA_PORT, f"SELECT pg_last_wal_replay_lsn() >= '{primary}'::pg_lsn")[0]


def test_what_users_see_while_the_replica_keeps_up_lags_catches_up_and_fails(server):
    url = server["url"]
    writer = _login(url, "manager", "dizhi-manager")
    reader = _login(url, "admin", "dizhi-admin")
    assert _sql(REPLICA_PORT, "SELECT pg_is_in_recovery()")[0]  # a real standby

    # In step: the list comes from the replica.
    _wait(_replica_caught_up, 60, "the replica to catch up")
    listing = reader.get(f"{url}/customers/")
    assert listing.ok and listing.headers["X-Dizhi-Read"] == "replica"
    assert writer.get(
        f"{url}/customers/{_sql(PRIMARY_PORT, 'SELECT min(id) FROM customers_customer')[0]}/"
    ).ok

    # Lagging: replay paused.
    _sql(REPLICA_PORT, "SELECT pg_wal_replay_pause()")
    try:
        # A write that is not customer data (a new address category, offered by the list's
        # category filter): the writer's pages wait for it (their cookie holds its WAL position)
        # and read from the primary; the other manager's list is still served by the lagging
        # replica, which does not know the category yet.
        _post_form(writer, f"{url}/addresses/categories/new/", {"name": "延迟分类", "colour": "#123456"})
        mine, theirs = writer.get(f"{url}/customers/"), reader.get(f"{url}/customers/")
        assert mine.headers["X-Dizhi-Read"] == "primary" and "延迟分类" in mine.text
        assert theirs.headers["X-Dizhi-Read"] == "replica" and "延迟分类" not in theirs.text

        # A customer added: the replica has not replayed it, so the list reads from the primary
        # for everyone, and both managers find it at once.
        _post_form(
            writer,
            f"{url}/customers/new/",
            {"name": "复制延迟测试客户", "kind": "enterprise", "stage": "new"},
        )
        assert (
            _sql(PRIMARY_PORT, "SELECT count(*) FROM customers_customer WHERE name = '复制延迟测试客户'")[0]
            == 1
        )
        assert (
            _sql(REPLICA_PORT, "SELECT count(*) FROM customers_customer WHERE name = '复制延迟测试客户'")[0]
            == 0
        )
        for session in (writer, reader):
            found = session.get(f"{url}/customers/", params={"q": "复制延迟测试客户"})
            assert found.headers["X-Dizhi-Read"] == "primary" and "复制延迟测试客户" in found.text
    finally:
        _sql(REPLICA_PORT, "SELECT pg_wal_replay_resume()")

    # Caught up: back on the replica, which now has both.
    _wait(_replica_caught_up, 60, "the replica to catch up")
    for session in (writer, reader):
        found = session.get(f"{url}/customers/", params={"q": "复制延迟测试客户"})
        assert found.headers["X-Dizhi-Read"] == "replica" and "复制延迟测试客户" in found.text
        assert "延迟分类" in found.text

    # The replica down: pages still answer, from the primary; /healthz reports the replica.
    _as_postgres(server["bin"] / "pg_ctl", "-D", server["replica_dir"], "-m", "fast", "-w", "stop")
    listing = reader.get(f"{url}/customers/")
    assert listing.ok and listing.headers["X-Dizhi-Read"] == "primary" and "复制延迟测试客户" in listing.text
    health = requests.get(f"{url}/healthz").json()
    assert health["checks"] == {"database:default": "ok", "database:replica": "fail", "cache": "ok"}
