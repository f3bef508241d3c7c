"""Map figures: clusters endpoint latency and size per zoom, page weight, first paint, routes.

Usage: DATABASE_URL=postgres://... python bench/map.py [--viewports N] [--no-browser]
Needs a seeded database (`manage.py seed_demo --customers N`, migrated). Prints:
- clusters endpoint: the first request apart, then p50/p95/p99/max (ms) and gzipped size (KB)
  per zoom 3..18 for viewports
  centred on random Chinese cities (zoom 3-11) or random customers' addresses (12-18), as a manager without a filter (MapCell path), a
  manager with each filter of the map page alone and with a region, and a sales user (always scoped);
- the map page's JS + CSS gzipped;
- time from navigation to the first clusters drawn in headless Chromium;
- a 50-stop route: solve time and length vs OR-Tools' guided local search for 10 s.
"""

import argparse
import gzip
import math
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("SECURE_SSL_REDIRECT", "false")  # the test client speaks plain HTTP
os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")

import _django  # noqa: E402, F401
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import connection
from django.test import Client

from addresses.models import Address, AddressCategory
from geo import routing
from geo.models import Region
from maps.models import MapCell

ROOT = Path(__file__).resolve().parents[1]
WIDTH, HEIGHT = 1280, 800


def viewport(lat, lng, zoom):
    """bbox string (west,south,east,north) of a WIDTH x HEIGHT px map centred on lat/lng."""
    scale = 256 * 2**zoom
    x = (lng + 180) / 360 * scale
    s = math.sin(math.radians(lat))
    y = (0.5 - math.log((1 + s) / (1 - s)) / (4 * math.pi)) * scale

    def unproject(px, py):
        lon = px / scale * 360 - 180
        la = math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * py / scale))))
        return la, lon

    s_lat, w_lng = unproject(x - WIDTH / 2, y + HEIGHT / 2)
    n_lat, e_lng = unproject(x + WIDTH / 2, y - HEIGHT / 2)
    return f"{max(w_lng, -180):.5f},{s_lat:.5f},{min(e_lng, 180):.5f},{n_lat:.5f}"


def pct(values, p):
    values = sorted(values)
    k = max(0, min(len(values) - 1, math.ceil(p / 100 * len(values)) - 1))
    return values[k]


def _scenarios(manager, sales, category) -> list[tuple[str, object, dict]]:
    """Every filter the map page offers, alone and combined with a region (the combinations no
    single MapCell scope holds read the address rows' own columns)."""
    filters = [
        ("stage=existing", {"stage": "existing"}),
        ("kind=enterprise", {"kind": "enterprise"}),
        (f"category={category.pk}", {"category": category.pk}),
        (f"owner={sales.pk}", {"owner": sales.pk}),
        ("search 科技", {"q": "科技"}),
    ]
    scenarios = [
        ("manager, no filter", manager, {}),
        ("manager, region=440000 (Guangdong)", manager, {"region": "440000"}),
        ("manager, district 440305 (Nanshan)", manager, {"region": "440305"}),
        ("sales (own + Guangdong)", sales, {}),
    ]
    for name, params in filters:
        scenarios.append((f"manager, {name}", manager, params))
        scenarios.append((f"manager, {name} + region=440000", manager, {**params, "region": "440000"}))
    return scenarios


def _spots() -> list[tuple]:
    """Random located addresses (a block sample: quick, and spread over the table)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT lat, lng FROM addresses_address TABLESAMPLE SYSTEM (1) REPEATABLE (5) "
                "WHERE map_key IS NOT NULL LIMIT 5000"
            )
            return cursor.fetchall()
    return list(Address.objects.filter(map_key__isnull=False).order_by("?").values_list("lat", "lng")[:5000])


def bench_clusters(n_viewports, only=()):
    User = get_user_model()
    manager = User.objects.get(username="manager")
    sales = User.objects.get(username="sales")
    category = AddressCategory.objects.order_by("pk").first()
    rnd = random.Random(5)
    cities = list(
        Region.objects.filter(level="city", path__startswith="CN/", lat__isnull=False).values_list(
            "lat", "lng"
        )
    )
    scenarios = _scenarios(manager, sales, category)
    spots = _spots()
    if only:
        scenarios = [s for s in scenarios if any(o in s[0] for o in only)]
    print(
        f"addresses: {Address.objects.count():,}  located: {Address.objects.filter(map_key__isnull=False).count():,}"
        f"  map cells: {MapCell.objects.count():,}  database: {connection.vendor}"
    )
    print(
        f"viewports: {n_viewports} per zoom, {WIDTH}x{HEIGHT} px, centred on random Chinese cities "
        "(zoom 3-11) or on random customers' addresses (zoom 12-18)"
    )
    worst = {}
    for label, user, params in scenarios:
        client = Client()
        client.force_login(user)
        cache.clear()
        print(f"\n{label}   (load average {' '.join(f'{v:.2f}' for v in os.getloadavg())})")
        print(
            " zoom first ms   p50 ms   p95 ms   p99 ms   max ms   p95 KB gz   max KB gz   clusters+points (median)"
        )
        for zoom in range(3, 19):
            times, sizes, items = [], [], []
            first = None
            for _ in range(n_viewports):
                # Wide views centre on cities; deep ones on customers' own addresses, so
                # they land among customers (the busiest viewports), not on empty ground.
                lat, lng = rnd.choice(cities if zoom < 12 else spots)
                lat, lng = float(lat), float(lng)
                query = {"bbox": viewport(lat, lng, zoom), "zoom": zoom, **params}
                started = time.perf_counter()
                response = client.get("/map/clusters/", query)
                elapsed = (time.perf_counter() - started) * 1000
                # The first request at a zoom (cold cells and plans for this filter) stands apart.
                if first is None:
                    first = elapsed
                else:
                    times.append(elapsed)
                assert response.status_code == 200, response.content[:200]
                sizes.append(len(gzip.compress(response.content)) / 1024)
                data = response.json()
                items.append(len(data["clusters"]) + len(data["points"]))
            p95, p99 = pct(times, 95), pct(times, 99)
            w = worst.setdefault(label, [0.0, 0.0])
            w[0], w[1] = max(w[0], p95), max(w[1], p99)
            print(
                f" {zoom:4d} {first:9.1f} {statistics.median(times):8.1f} {p95:8.1f} {p99:8.1f} {max(times):8.1f}"
                f" {pct(sizes, 95):11.1f} {max(sizes):11.1f}   {statistics.median(items):.0f}"
            )
    print(
        "\nworst p95 / p99 per scenario: "
        + ", ".join(f"{k}: {v[0]:.1f} / {v[1]:.1f} ms" for k, v in worst.items())
    )


def page_weight():
    html = (ROOT / "templates" / "map" / "map.html").read_text() + (
        ROOT / "templates" / "base.html"
    ).read_text()
    assets = sorted(set(re.findall(r"static '([^']+\.(?:js|css))'", html)))
    total_raw = total_gz = 0
    for asset in assets:
        data = (ROOT / "static" / asset).read_bytes()
        total_raw += len(data)
        total_gz += len(gzip.compress(data, 9))
    print(
        f"\nmap page JS + CSS: {len(assets)} files, {total_raw / 1024:.0f} KB raw, {total_gz / 1024:.0f} KB gzipped"
    )


def first_clusters():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("first clusters: playwright missing")
        return
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        **os.environ,
        "DEBUG": "true",
        "SECURE_SSL_REDIRECT": "false",
        "SESSION_COOKIE_SECURE": "false",
        "CSRF_COOKIE_SECURE": "false",
        "MAP_TILES": "none",
    }
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path="/usr/bin/chromium",
                args=[
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--no-first-run",
                ],
            )
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(f"http://127.0.0.1:{port}/accounts/login/")
            page.fill('input[name="username"]', "manager")
            page.fill('input[name="password"]', "dizhi-manager")
            page.locator('form button[type="submit"]').last.click()
            page.wait_for_load_state()
            runs = []
            for _ in range(5):
                started = time.perf_counter()
                page.goto(f"http://127.0.0.1:{port}/map/", wait_until="commit")
                page.wait_for_selector('#dz-map-status[data-state="ready"]', timeout=15000)
                page.wait_for_selector(".dz-cluster")
                runs.append(time.perf_counter() - started)
            page.screenshot(path="/tmp/bench-map.png")
            browser.close()
        print(
            f"first clusters drawn after navigation (headless Chromium, 5 runs): "
            f"first {runs[0]:.2f} s, median {statistics.median(runs):.2f} s, max {max(runs):.2f} s"
        )
    finally:
        server.terminate()
        server.wait()


def bench_route():
    rnd = random.Random(11)
    pts = list(
        Address.objects.filter(city__code="110100", lat__isnull=False).values_list("lat", "lng")[:5000]
    )
    sample = [(float(a), float(b)) for a, b in rnd.sample(pts, 51)]
    start, stops = sample[0], sample[1:]
    routing.route_plan(start=start, stops=stops[:3])  # import OR-Tools once
    started = time.perf_counter()
    plan = routing.route_plan(start=start, stops=stops)
    elapsed = time.perf_counter() - started
    matrix = routing.straight_matrix(sample)
    # The reference: OR-Tools' guided local search from its usual cheapest-arc start, 10 s.
    order = routing.solve_path(
        matrix.metres, start=0, end=None, time_limit=10, first_solution="PATH_CHEAPEST_ARC"
    )
    reference = routing.path_metres(matrix.metres, 0, order)
    print(
        f"\nroute, 50 stops in Beijing: solved in {elapsed:.2f} s, {plan.total_metres / 1000:.2f} km; "
        f"guided local search 10 s: {reference / 1000:.2f} km; ratio {plan.total_metres / reference:.4f}"
    )


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--viewports", type=int, default=51, help="requests per zoom (the first reported apart)"
    )
    parser.add_argument("--no-browser", action="store_true")
    parser.add_argument("--only", nargs="*", default=(), help="scenarios whose label contains one of these")
    args = parser.parse_args()
    bench_clusters(args.viewports, args.only)
    page_weight()
    if not args.no_browser:
        first_clusters()
    bench_route()


if __name__ == "__main__":
    main()
