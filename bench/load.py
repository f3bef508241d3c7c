"""Load test: the production server at a million customers, 50 users for 5 minutes (locust).

Usage (after bench/load_data.py has filled the database):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/dizhi_h9_bench \\
        .venv/bin/python bench/load.py [--users 50] [--minutes 5] [--workers 5] [--max-requests 20000]

Starts Dizhi as README "Run in production" runs it (gunicorn, DEBUG off, WhiteNoise's hashed
static files, a Redis cache shared by the workers) on 127.0.0.1 only; runs locust's users in this
process: 40 managers (all customers) and 10 salespeople (their own and their territory's), each
logged in once, then looping with 1-3 s (--think) between requests over the customer list (first and
later pages, filters), search, customer pages, map clusters (zoom 4 to 14 around the big cities)
and CSV exports of one district. Stops by itself after the given minutes or requests, stops the
server, and prints per request kind the count, p50 / p95 / p99 / max and errors, and the total
against the target (p95 at most 300 ms, no errors) with the number of gunicorn workers and the
machine's load average. The clock starts once every user has logged in: 50 password hashes at
once (a few hundred ms of CPU each, on purpose) are a warm-up, reported on their own line.
"""

import argparse
import os
import random
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"  # never anything else
TARGET_P95_MS = 300
BIG_CITIES = [
    (39.90, 116.40),
    (31.23, 121.47),
    (23.13, 113.26),
    (22.54, 114.06),
    (30.27, 120.15),
    (30.57, 104.07),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def samples(url: str) -> dict:
    """Ids, search words and districts to ask for, drawn from the database once."""
    with psycopg.connect(url.replace("postgres://", "postgresql://", 1)) as con:
        users = dict(
            con.execute(
                "SELECT username, id FROM auth_user WHERE username IN ('manager', 'sales')"
            ).fetchall()
        )
        all_ids = [
            r[0] for r in con.execute("SELECT id FROM customers_customer TABLESAMPLE SYSTEM (1) LIMIT 3000")
        ]
        sales_ids = [
            r[0]
            for r in con.execute(
                "SELECT id FROM customers_customer WHERE owner_id = %s ORDER BY random() LIMIT 1000",
                [users["sales"]],
            )
        ]
        names = [
            r[0]
            for r in con.execute("SELECT name FROM customers_customer TABLESAMPLE SYSTEM (0.1) LIMIT 500")
        ]
        districts = [
            r[0]
            for r in con.execute(
                "SELECT r.code FROM geo_region r JOIN addresses_address a ON a.district_id = r.id "
                "WHERE a.id IN (SELECT id FROM addresses_address TABLESAMPLE SYSTEM (0.1)) GROUP BY r.code LIMIT 200"
            )
        ]
    words = sorted({n[:2] for n in names if len(n) >= 2} | {n[-4:] for n in names if len(n) >= 6})
    return {"all_ids": all_ids, "sales_ids": sales_ids, "words": words, "districts": districts}


def start_server(args, env: dict) -> tuple[subprocess.Popen, str]:
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "collectstatic", "--no-input", "-v", "0"], env=env, check=True)
    port = free_port()
    log = open(ROOT / "var" / "load-server.log", "w")
    web = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "crm.wsgi",
            "-c",
            "python:crm.gunicorn_conf",
            "--bind",
            f"{HOST}:{port}",
        ],
        cwd=ROOT,
        env={**env, "WEB_CONCURRENCY": str(args.workers)},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://{HOST}:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if web.poll() is not None:
            sys.exit(f"gunicorn exited ({web.returncode}); see var/load-server.log")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=5) as r:
                if r.status == 200:
                    return web, url
        except OSError:
            time.sleep(0.5)
    web.terminate()
    sys.exit("gunicorn did not become healthy")


def user_classes(data: dict):
    from locust import HttpUser, between, task

    class Salesperson(HttpUser):
        weight = 10
        wait_time = between(*data["think"])
        username, password, ids = "sales", "dizhi-sales", data["sales_ids"]

        def on_start(self):
            page = self.client.get("/accounts/login/", name="login")
            token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
            self.client.post(
                "/accounts/login/",
                {"username": self.username, "password": self.password, "csrfmiddlewaretoken": token},
                headers={"Referer": f"{self.host}/accounts/login/"},
                name="login",
            )
            data["logged_in"] += 1

        @task(3)
        def customer_list(self):
            params = random.choice(
                [{}, {"page": random.randint(2, 50)}, {"stage": "existing"}, {"kind": "individual"}]
            )
            self.client.get("/customers/", params=params, name="list")

        @task(3)
        def search(self):
            self.client.get("/customers/", params={"q": random.choice(data["words"])}, name="search")

        @task(4)
        def customer_page(self):
            self.client.get(f"/customers/{random.choice(self.ids)}/", name="customer page")

        @task(4)
        def map_clusters(self):
            lat, lng = random.choice(BIG_CITIES)
            zoom = random.randint(4, 14)
            half = 180 / 2**zoom * 2  # about a 1,000-pixel-wide viewport
            bbox = f"{lng - half:.5f},{lat - half / 2:.5f},{lng + half:.5f},{lat + half / 2:.5f}"
            self.client.get("/map/clusters/", params={"bbox": bbox, "zoom": zoom}, name="map clusters")

        @task(1)
        def export(self):
            params = {"format": "csv", "region": random.choice(data["districts"])}
            self.client.get("/imports/export/", params=params, name="export csv")  # the whole file

    class Manager(Salesperson):
        weight = 40
        username, password, ids = "manager", "dizhi-manager", data["all_ids"]

    return [Salesperson, Manager]


def run_users(url: str, data: dict, args):
    """Spawn the users, wait until all have logged in (a password hash each: a storm that is
    not the steady state), then measure for the given minutes."""
    import gevent
    from locust.env import Environment

    env = Environment(user_classes=user_classes(data), host=url)
    runner = env.create_local_runner()
    runner.start(args.users, spawn_rate=args.users / 10)
    deadline = time.monotonic() + 900
    while data["logged_in"] < args.users and time.monotonic() < deadline:
        gevent.sleep(1)
    login_line = "\n".join(
        _line(f"login {e.method}", e) for e in env.stats.entries.values() if e.name == "login"
    )
    env.stats.reset_all()
    deadline = time.monotonic() + args.minutes * 60
    while time.monotonic() < deadline and env.stats.total.num_requests < args.max_requests:
        gevent.sleep(1)
    runner.quit()
    return env.stats, login_line


def _line(name: str, e) -> str:
    return (
        f"{name:<16}{e.num_requests:>8}{e.get_response_time_percentile(0.5):>8.0f}"
        f"{e.get_response_time_percentile(0.95):>8.0f}{e.get_response_time_percentile(0.99):>8.0f}"
        f"{e.max_response_time:>8.0f}{e.num_failures:>8}"
    )


def report(stats, login_line: str, args, load_before: float) -> None:
    print(
        f"\n{args.users} users ({args.think} s between requests) for {args.minutes} min, measured after "
        f"all logged in, against gunicorn with {args.workers} sync workers on {HOST}"
    )
    print(f"load average before {load_before:.2f}, after {os.getloadavg()[0]:.2f} (2 cores)")
    print(f"{'request':<16}{'count':>8}{'p50':>8}{'p95':>8}{'p99':>8}{'max':>8}{'errors':>8}  (ms)")
    print(login_line)
    for e in sorted(stats.entries.values(), key=lambda e: e.name):
        if e.num_requests:
            print(_line(e.name, e))
    print(_line("all", stats.total))
    p95 = stats.total.get_response_time_percentile(0.95)
    print(f"throughput {stats.total.num_requests / (args.minutes * 60):.1f} requests/s")
    ok = p95 <= TARGET_P95_MS and stats.total.num_failures == 0
    print(f"target p95 <= {TARGET_P95_MS} ms and 0 errors: {'met' if ok else 'NOT met'}")
    for error in stats.errors.values():
        print(f"error: {error.method} {error.name}: {error.error} x{error.occurrences}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--minutes", type=float, default=5)
    parser.add_argument("--workers", type=int, default=2 * os.cpu_count() + 1)
    parser.add_argument("--max-requests", type=int, default=40_000)
    parser.add_argument("--cache", default="redis://127.0.0.1:6379/9")
    parser.add_argument("--think", default="1-3", help="seconds a user waits between requests, MIN-MAX")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        sys.exit("set DATABASE_URL=postgres://... (a database filled by bench/load_data.py)")
    data = samples(url)
    data["think"] = tuple(float(x) for x in args.think.split("-"))
    data["logged_in"] = 0
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "TASKS_"))}
    env.update(
        DEBUG="false",
        ALLOW_PLAIN_HTTP="true",
        SECRET_KEY="load-test-" + "k" * 50,
        STATIC_ROOT=str(ROOT / "var" / "load-static"),
        CACHE_URL=args.cache,
        CONN_MAX_AGE="60",
        LOG_LEVEL="ERROR",
    )
    web, server = start_server(args, env)
    load_before = os.getloadavg()[0]
    try:
        stats, login_line = run_users(server, data, args)
    finally:
        web.terminate()
        web.wait(timeout=60)
    report(stats, login_line, args, load_before)


if __name__ == "__main__":
    main()
