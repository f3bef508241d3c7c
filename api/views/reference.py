"""Read-only reference data and address tools: categories, the region tree and search,
parsing free text and geocoding it."""

from django.db.models import Q
from django.http import Http404
from ninja import Query, Router
from pydantic import Field

from addresses.models import AddressCategory
from api.auth import read_auth
from api.schemas import (
    CategoryOut,
    GeocodeIn,
    GeocodeOut,
    ParseIn,
    ParseOut,
    Problem,
    RegionOut,
    ReverseIn,
    ReverseOut,
    StrictSchema,
)
from geo import geocoding, parsing
from geo.choices import RegionLevel
from geo.models import Region
from geo.selectors import place_at, region_index

router = Router(tags=["reference"])
ERRORS = {400: Problem, 401: Problem, 403: Problem, 429: Problem}


@router.get("/categories/", response={200: list[CategoryOut], **ERRORS}, auth=read_auth)
def categories_list(request):
    """Every address category (they are shared by all users)."""
    return [
        {
            "id": c.pk,
            "name": c.name,
            "description": c.description,
            "colour": c.colour,
            "parent_id": c.parent_id,
        }
        for c in AddressCategory.objects.order_by("name")
    ]


class RegionFilters(StrictSchema):
    parent: str | None = Field(None, description="Children of this region code; countries when empty.")
    q: str | None = Field(None, max_length=50, description="Search names (any level) instead.")
    level: RegionLevel | None = None
    include_inactive: bool = False


def _region_data(r: Region) -> dict:
    return {
        "code": r.code,
        "name": r.name,
        "name_en": r.name_en,
        "level": r.level,
        "parent_code": r.parent.code if r.parent_id else None,
        "lat": float(r.lat) if r.lat is not None else None,
        "lng": float(r.lng) if r.lng is not None else None,
        "is_active": r.is_active,
    }


@router.get("/regions/", response={200: list[RegionOut], **ERRORS}, auth=read_auth)
def regions_list(request, filters: Query[RegionFilters]):
    """One level of the region tree (at most 1,000), or a name search (at most 50 matches)."""
    qs = Region.objects.select_related("parent")
    if not filters.include_inactive:
        qs = qs.filter(is_active=True)
    if filters.level:
        qs = qs.filter(level=filters.level)
    if filters.q:
        term = filters.q.strip()
        qs = qs.filter(Q(name__icontains=term) | Q(name_en__icontains=term) | Q(code=term)).order_by("path")[
            :50
        ]
    elif filters.parent:
        qs = qs.filter(parent__code=filters.parent).order_by("code")[:1000]
    else:
        qs = qs.filter(parent__isnull=True).order_by("code")[:1000]
    return [_region_data(r) for r in qs]


@router.get("/regions/{code}", response={200: RegionOut, 404: Problem, **ERRORS}, auth=read_auth)
def region_read(request, code: str):
    region = Region.objects.select_related("parent").filter(code=code).first() if "\x00" not in code else None
    if region is None:
        raise Http404
    return _region_data(region)


def _match(m) -> dict | None:
    return {"code": m.code, "name": m.name, "level": m.level} if m is not None else None


@router.post("/parse", response={200: ParseOut, **ERRORS}, auth=read_auth)
def parse(request, payload: ParseIn):
    """Free text → regions, detail line, postcode, confidence and the levels left ambiguous."""
    parsed = parsing.parse_address(payload.text, region_index())
    return {
        "country": _match(parsed.country),
        "province": _match(parsed.province),
        "city": _match(parsed.city),
        "district": _match(parsed.district),
        "detail": parsed.detail,
        "postcode": parsed.postcode,
        "confidence": parsed.confidence,
        "ambiguities": [
            {
                "level": level,
                "candidates": [{"code": code, "name": label, "level": level} for code, label in options],
            }
            for level, options in parsed.ambiguities
        ],
    }


@router.post("/geocode", response={200: GeocodeOut, 404: Problem, **ERRORS}, auth=read_auth)
def geocode(request, payload: GeocodeIn):
    """Locate free text: the configured geocoder, or the centre of the deepest region found."""
    parsed = parsing.parse_address(payload.text, region_index())
    result = geocoding.get_geocoder().geocode(payload.text, region_hint=parsed)
    if result is None:
        raise Http404
    return {
        "lat": result.lat,
        "lng": result.lng,
        "precision": result.precision,
        "source": result.source,
        "region_code": result.region_code,
    }


@router.get("/reverse", response={200: ReverseOut, 404: Problem, **ERRORS}, auth=read_auth)
def reverse_geocode(request, point: Query[ReverseIn]):
    """What is at a point (WGS-84): the region whose outline holds it, else the nearest region
    centre (marked approximate), with its chain from the country down."""
    place = place_at(lat=point.lat, lng=point.lng)
    if place is None:
        raise Http404
    return place
