"""The map: page, clusters / heat / region endpoints, nearby customers, drawn selections
and visit routes. Every endpoint starts from `Customer.objects.visible_to(user)`
filtered by the shared CustomerFilterSet (the customer list's URL parameters).
"""

import csv
import json
import math
from urllib.parse import quote

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from addresses.models import Address, AddressCategory
from crm.roles import is_manager
from customers.choices import CustomerKind, RelationshipStage
from customers.filtersets import LOCATED_CHOICES, CustomerFilterSet, invalid_ids, owner_choices
from customers.models import Customer
from customers.selectors import customer_get
from geo import mapmath, routing
from geo.coords import wgs84_to_bd09, wgs84_to_gcj02
from geo.presentation import outline_urls
from geo.selectors import place_at, region_chain, region_picker_levels
from maps import selectors
from maps.selectors import FILTER_PARAMS

MAX_SELECTION = 2000
MAX_NEARBY = 200
MAX_RADIUS_KM = 200.0


# --- helpers ---------------------------------------------------------------------------------


def _filter_query(request) -> str:
    """The filter part of the query string (for links to the list and cache keys)."""
    query = request.GET.copy()
    for key in list(query):
        if key not in FILTER_PARAMS:
            del query[key]
    return query.urlencode()


def _int(value, default: int, lo: int, hi: int) -> int:
    try:
        return max(lo, min(hi, int(value)))
    except (TypeError, ValueError):
        return default


def _float(value) -> float:
    v = float(value)
    if not math.isfinite(v):
        raise ValueError("not finite")
    return v


def _bbox(request):
    try:
        return mapmath.BBox.parse(request.GET.get("bbox", ""))
    except ValueError:
        return None


# --- page ------------------------------------------------------------------------------------


@login_required
@require_GET
def map_page(request):
    chain = region_chain(code=request.GET.get("region"))
    filterset = CustomerFilterSet(request.GET, queryset=Customer.objects.none())
    filters = filterset.form.cleaned_data if filterset.is_valid() else {}
    categories = list(AddressCategory.objects.order_by("name"))
    near = None
    if request.GET.get("near", "").isdigit():
        near = customer_get(user=request.user, pk=int(request.GET["near"]))
    config = {
        "tiles": settings.MAP_TILES,
        "categories": {str(c.pk): {"name": c.name, "colour": c.colour} for c in categories},
        "urls": {
            "clusters": reverse("map:clusters"),
            "nearby": reverse("map:nearby"),
            "here": reverse("map:here"),
            "select": reverse("map:select"),
            "route": reverse("map:route"),
            "routeCsv": reverse("map:route_csv"),
            "customers": reverse("customers:list"),
            "export": reverse("imports:export"),
            "outlines": outline_urls(),
        },
        "near": near.pk if near else None,
        "radius": _float_or(request.GET.get("radius"), 5.0),
        "maxStops": routing.MAX_STOPS,
        "isManager": is_manager(request.user),
    }
    return render(
        request,
        "map/map.html",
        {
            "config": config,
            "filter_query": _filter_query(request),
            "region_levels": region_picker_levels(chain),
            "region_code": request.GET.get("region", ""),
            "categories": categories,
            "selected_categories": {c.pk for c in filters.get("category") or ()},
            "owners": list(owner_choices()),
            "kinds": CustomerKind.choices,
            "stages": RelationshipStage.choices,
            "selected_stages": set(filters.get("stage") or ()),
            "located_choices": LOCATED_CHOICES,
            "near": near,
            "is_manager": is_manager(request.user),
        },
    )


def _float_or(value, default: float) -> float:
    try:
        return _float(value)
    except (TypeError, ValueError):
        return default


# --- clusters, heat, regions -----------------------------------------------------------------


@login_required
@require_GET
def clusters(request):
    """Clusters and individual points of the viewport (`bbox`, `zoom`), or heat cells
    (`layer=heat`), or region counts (`layer=regions`), for the filtered customers."""
    bbox = _bbox(request)
    if bbox is None:
        return HttpResponseBadRequest(_("Give bbox=west,south,east,north."))
    if invalid_ids(request.GET):
        return HttpResponseBadRequest(_("The selection (ids) must be customer numbers."))
    zoom = _int(request.GET.get("zoom"), 4, 0, 20)
    layer = request.GET.get("layer", "clusters")
    customers, scope, where, terms = found = selectors.map_filter(user=request.user, params=request.GET)
    area = bbox.padded(0.15)
    if layer == "regions":
        return JsonResponse(selectors.region_layer(map_filter=found, zoom=zoom, area=area))
    if layer == "heat":
        level = min(zoom + selectors.HEAT_ZOOM_OFFSET, mapmath.KEY_LEVEL)
        cells = selectors.grid(
            customers=customers, scope=scope, bbox=area, level=level, where=where, terms=terms
        )
        return JsonResponse(
            {
                "zoom": zoom,
                "max": max((c[1] for c in cells), default=0),
                "cells": [[round(c[2], 5), round(c[3], 5), c[1]] for c in cells],
            }
        )
    if zoom >= selectors.POINTS_ZOOM:
        ids = selectors.points_in_bbox(
            customers=customers, bbox=area, limit=selectors.MAX_POINTS, where=where
        )
        if ids is not None:
            points = selectors.map_points(ids)
            return JsonResponse({"zoom": zoom, "total": len(points), "clusters": [], "points": points})
    level = selectors.cluster_level(zoom)
    cells = selectors.grid(customers=customers, scope=scope, bbox=area, level=level, where=where, terms=terms)
    single_ids = selectors.singleton_ids(customers=customers, cells=cells, level=level, where=where)
    points = selectors.map_points(single_ids)
    shown = len(points)
    groups = [[round(c[2], 5), round(c[3], 5), c[1]] for c in cells if c[1] > 1]
    # Singletons beyond the point limit stay as "1" bubbles.
    extra = sum(1 for c in cells if c[1] == 1) - shown
    if extra > 0:
        resolved = {p["id"] for p in points}
        groups += [[round(c[2], 5), round(c[3], 5), 1] for c in cells if c[1] == 1 and c[4] not in resolved][
            :extra
        ]
    return JsonResponse(
        {"zoom": zoom, "total": sum(c[1] for c in cells), "clusters": groups, "points": points}
    )


# --- nearby ----------------------------------------------------------------------------------


@login_required
@require_GET
def here(request):
    """What is here: the region at a point of the map (by its outline, else the nearest centre)."""
    try:
        lat, lng = _float(request.GET.get("lat")), _float(request.GET.get("lng"))
        if not (-90 <= lat <= 90 and -180 <= lng <= 180):
            raise ValueError("outside the globe")
    except (TypeError, ValueError):
        return HttpResponseBadRequest(_("Give lat and lng (WGS-84 degrees)."))
    place = place_at(lat=lat, lng=lng)
    if place is None:
        raise Http404
    return JsonResponse(place)


@login_required
@require_GET
def nearby(request):
    """Customers within `radius` km of a customer (`near`) or a point (`lat`, `lng`), nearest first."""
    if invalid_ids(request.GET):
        return HttpResponseBadRequest(_("The selection (ids) must be customer numbers."))
    radius = max(0.1, min(MAX_RADIUS_KM, _float_or(request.GET.get("radius"), 5.0)))
    exclude_customer = None
    if request.GET.get("near"):
        try:
            customer_id = int(request.GET["near"])
        except ValueError:
            raise Http404 from None
        customer, origin = selectors.customer_home(user=request.user, customer_id=customer_id)
        if origin is None:
            return JsonResponse({"error": _("This customer has no location yet.")}, status=400)
        exclude_customer = customer.pk
        origin_label = customer.name
    else:
        try:
            origin = (_float(request.GET.get("lat")), _float(request.GET.get("lng")))
            if not (-90 <= origin[0] <= 90 and -180 <= origin[1] <= 180):
                raise ValueError("outside the globe")
        except (TypeError, ValueError):
            return HttpResponseBadRequest(_("Give near=<customer id> or lat and lng."))
        origin_label = _("Chosen point")
    found = selectors.nearby_addresses(
        customers=selectors.map_filter(user=request.user, params=request.GET).customers,
        origin=origin,
        radius_km=radius,
        limit=MAX_NEARBY,
        exclude_customer=exclude_customer,
    )
    points = selectors.map_points(found.address_ids, origin=origin)
    points.sort(key=lambda p: (p["km"], p["id"]))
    return JsonResponse(
        {
            "origin": {
                "lat": origin[0],
                "lng": origin[1],
                "label": origin_label,
                "customer": exclude_customer,
            },
            "radius": radius,
            "count": found.count,
            "truncated": found.count > MAX_NEARBY,
            "results": points,
        }
    )


# --- drawn selection -------------------------------------------------------------------------


def _json_body(request):
    try:
        return json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        return None


@login_required
@require_POST
def select(request):
    """Located addresses of the filtered customers inside a drawn polygon (JSON body
    {"polygon": [[lat, lng], ...]}); filters come in the query string."""
    body = _json_body(request)
    try:
        ring = [(_float(p[0]), _float(p[1])) for p in body["polygon"]]
    except (TypeError, KeyError, ValueError, IndexError):
        return HttpResponseBadRequest(_("Draw a rectangle or polygon first."))
    if len(ring) < 3 or len(ring) > 1000:
        return HttpResponseBadRequest(_("Draw a rectangle or polygon first."))
    customers = selectors.map_filter(user=request.user, params=request.GET).customers
    inside = selectors.addresses_in_polygon(customers=customers, ring=ring)
    points = selectors.map_points(inside[:MAX_SELECTION])
    points.sort(key=lambda p: (p["name"], p["id"]))
    return JsonResponse(
        {
            "count": len(inside),
            "truncated": len(inside) > MAX_SELECTION,
            "customers": sorted({p["customer"] for p in points}),
            "results": points,
        }
    )


# --- visit routes ----------------------------------------------------------------------------


def _route_stops(request, address_ids) -> list[Address]:
    """Addresses (in the order given) of customers the user may see; 404 for any other."""
    ids = [int(i) for i in address_ids]
    if len(ids) > routing.MAX_STOPS or len(set(ids)) != len(ids):
        raise ValueError
    return selectors.route_stops(user=request.user, address_ids=ids)


def _nav_links(prev: tuple[float, float, str], lat: float, lng: float, name: str) -> dict:
    """Links opening navigation to a stop in AMap (GCJ-02) and Baidu (BD-09)."""
    glat, glng = wgs84_to_gcj02(lat, lng)
    plat, plng = wgs84_to_gcj02(prev[0], prev[1])
    blat, blng = wgs84_to_bd09(lat, lng)
    bplat, bplng = wgs84_to_bd09(prev[0], prev[1])
    q = quote(name, safe="")
    amap = (
        f"https://uri.amap.com/navigation?from={plng:.6f},{plat:.6f},{quote(prev[2], safe='')}"
        f"&to={glng:.6f},{glat:.6f},{q}&mode=car&policy=1&coordinate=gaode&callnative=1&src=dizhi"
    )
    baidu = (
        f"https://api.map.baidu.com/direction?origin=latlng:{bplat:.6f},{bplng:.6f}|name:{quote(prev[2], safe='')}"
        f"&destination=latlng:{blat:.6f},{blng:.6f}|name:{q}&mode=driving&coord_type=bd09ll&output=html&src=dizhi"
    )
    return {
        "amap": amap,
        "baidu": baidu,
        "gcj02": [round(glat, 6), round(glng, 6)],
        "bd09": [round(blat, 6), round(blng, 6)],
    }


def _route_payload(start, stops: list[Address], plan: routing.Route) -> dict:
    start_label = _("Start")
    prev = (start[0], start[1], start_label)
    out, cumulative = [], 0
    for n, (index, metres, seconds) in enumerate(zip(plan.order, plan.leg_metres, plan.leg_seconds), 1):
        a = stops[index]
        lat, lng = float(a.lat), float(a.lng)
        cumulative += metres
        out.append(
            {
                "n": n,
                "id": a.pk,
                "customer": a.customer_id,
                "name": a.customer.name,
                "address": a.one_line(),
                "lat": lat,
                "lng": lng,
                "leg_m": metres,
                "leg_s": seconds,
                "cumulative_m": cumulative,
                **_nav_links(prev, lat, lng, a.customer.name),
            }
        )
        prev = (lat, lng, a.customer.name)
    return {
        "start": {"lat": start[0], "lng": start[1]},
        "stops": out,
        "total_m": plan.total_metres,
        "total_s": plan.total_seconds,
        "source": plan.source,
    }


@login_required
@require_POST
def route(request):
    """Optimised (or, with "optimize": false, measured) visiting order for a start point and
    up to 100 addresses. JSON body: {"start": [lat, lng], "stops": [address ids],
    "first": address id | null, "last": address id | null, "optimize": bool}."""
    body = _json_body(request)
    try:
        start = (_float(body["start"][0]), _float(body["start"][1]))
        if not routing.bearing_ok(*start):
            raise ValueError
        stops = _route_stops(request, body.get("stops") or [])
        ids = [a.pk for a in stops]
        first = ids.index(int(body["first"])) if body.get("first") else None
        last = ids.index(int(body["last"])) if body.get("last") else None
    except (TypeError, KeyError, ValueError, IndexError):
        return HttpResponseBadRequest(
            _("Choose a start point and up to %(max)d stops.") % {"max": routing.MAX_STOPS}
        )
    plan = routing.route_plan(
        start=start,
        stops=[(float(a.lat), float(a.lng)) for a in stops],
        first=first,
        last=last,
        optimize=body.get("optimize", True) is not False,
    )
    return JsonResponse(_route_payload(start, stops, plan))


@login_required
@require_GET
def route_csv(request):
    """The route in the order given (`start=lat,lng&stops=id,id,...`) as CSV, with navigation links."""
    try:
        start = tuple(_float(v) for v in request.GET.get("start", "").split(","))
        if len(start) != 2 or not routing.bearing_ok(*start):
            raise ValueError
        stops = _route_stops(request, [v for v in request.GET.get("stops", "").split(",") if v])
    except (TypeError, ValueError):
        return HttpResponseBadRequest(
            _("Choose a start point and up to %(max)d stops.") % {"max": routing.MAX_STOPS}
        )
    plan = routing.route_plan(
        start=start, stops=[(float(a.lat), float(a.lng)) for a in stops], optimize=False
    )
    payload = _route_payload(start, stops, plan)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="route.csv"'
    response.write("\ufeff")  # BOM: Excel opens UTF-8 Chinese text correctly
    writer = csv.writer(response)
    writer.writerow(
        [
            _("Stop"), _("Customer"), _("Address"), _("Latitude (WGS-84)"), _("Longitude (WGS-84)"),
            _("Leg (km)"), _("Cumulative (km)"), _("Leg (min)"), _("AMap navigation"), _("Baidu navigation"),
        ]
    )  # fmt: skip
    for s in payload["stops"]:
        writer.writerow(
            [
                s["n"], _csv_safe(s["name"]), _csv_safe(s["address"]), s["lat"], s["lng"],
                f"{s['leg_m'] / 1000:.2f}", f"{s['cumulative_m'] / 1000:.2f}", round(s["leg_s"] / 60),
                s["amap"], s["baidu"],
            ]
        )  # fmt: skip
    return response


def _csv_safe(text: str) -> str:
    """Stop spreadsheet formula injection (a name starting with = + - @)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
