"""Visit-route solver: order quality, fixed stops, OSRM road matrix from a fake server on 127.0.0.1."""

import json
import random
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from geo import routing


def _points(n, seed=7):
    r = random.Random(seed)
    return [(31.1 + r.random() * 0.3, 121.3 + r.random() * 0.4) for _ in range(n)]


def test_collinear_stops_are_visited_in_line():
    stops = [(30.0, 120.0 + d) for d in (0.5, 0.1, 0.4, 0.2, 0.3)]
    plan = routing.route_plan(start=(30.0, 120.0), stops=stops)
    assert plan.order == [1, 3, 4, 2, 0]
    assert plan.source == "straight"
    assert plan.total_metres == sum(plan.leg_metres)


def test_fixed_first_and_last_stops_are_respected():
    pts = _points(12)
    plan = routing.route_plan(start=pts[0], stops=pts[1:], first=4, last=7)
    assert plan.order[0] == 4 and plan.order[-1] == 7
    assert sorted(plan.order) == list(range(11))


def test_manual_order_is_kept_and_measured():
    pts = _points(6)
    plan = routing.route_plan(start=pts[0], stops=pts[1:], optimize=False)
    assert plan.order == [0, 1, 2, 3, 4]


def test_solution_is_as_good_as_a_long_guided_local_search():
    pts = _points(31, seed=3)
    matrix = routing.straight_matrix(pts)
    quick = routing.solve_path(matrix.metres, start=0, end=None)
    thorough = routing.solve_path(matrix.metres, start=0, end=None, time_limit=3)
    assert (
        routing.path_metres(matrix.metres, 0, quick) <= routing.path_metres(matrix.metres, 0, thorough) * 1.02
    )


def test_too_many_stops_are_refused():
    with pytest.raises(ValueError):
        routing.route_plan(start=(0, 0), stops=[(0, 0.001 * i) for i in range(routing.MAX_STOPS + 1)])


class _FakeOSRM(BaseHTTPRequestHandler):
    requests: list[str] = []

    def do_GET(self):  # noqa: N802
        type(self).requests.append(self.path)
        coords = self.path.split("/table/v1/driving/")[1].split("?")[0].split(";")
        n = len(coords)
        # Road distance: 1 km per index step, so the best order is by index, whatever the geometry.
        distances = [[abs(i - j) * 1000.0 for j in range(n)] for i in range(n)]
        durations = [[abs(i - j) * 60.0 for j in range(n)] for i in range(n)]
        body = json.dumps({"code": "Ok", "distances": distances, "durations": durations}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_osrm(settings):
    server = HTTPServer(("127.0.0.1", 0), _FakeOSRM)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.OSRM_URL = f"http://127.0.0.1:{server.server_port}"
    _FakeOSRM.requests = []
    yield _FakeOSRM
    server.shutdown()


def test_osrm_road_matrix_drives_the_order(fake_osrm):
    # Geometrically reversed, but the (fake) roads say index order is shortest.
    stops = [(30.0, 120.5 - 0.1 * i) for i in range(5)]
    plan = routing.route_plan(start=(30.0, 120.0), stops=stops)
    assert plan.source == "osrm"
    assert plan.order == [0, 1, 2, 3, 4]
    assert plan.total_metres == 5000 and plan.total_seconds == 300
    assert fake_osrm.requests[0].startswith("/table/v1/driving/120.000000,30.000000;")
    assert "annotations=distance,duration" in fake_osrm.requests[0]


def test_unreachable_osrm_falls_back_to_straight_lines(settings):
    settings.OSRM_URL = "http://127.0.0.1:9"  # discard port: connection refused
    plan = routing.route_plan(start=(30.0, 120.0), stops=[(30.0, 120.1), (30.0, 120.2)])
    assert plan.source == "straight" and plan.order == [0, 1]
