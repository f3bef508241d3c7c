"""Request and answer shapes of the API (pydantic, via django-ninja): they are the OpenAPI
document. Request schemas refuse unknown fields; answers have the shape of api.payloads."""

from datetime import date, datetime
from typing import Annotated, Literal

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.utils import timezone
from ninja import Path, Schema
from pydantic import ConfigDict, Field, field_validator, model_validator

from addresses.choices import AddressKind
from customers.choices import CustomerKind, RelationshipStage
from geo.choices import CoordinateSystem, GeocodePrecision

CustomerKindName = Literal[tuple(CustomerKind.values)]
StageName = Literal[tuple(RelationshipStage.values)]
AddressKindName = Literal[tuple(AddressKind.values)]
PrecisionName = Literal[tuple(GeocodePrecision.values)]
CrsName = Literal[tuple(CoordinateSystem.values)]


MAX_ID = 2**63 - 1  # a database id (bigint); larger numbers are refused, not sent to the database
DbId = Annotated[int, Field(ge=1, le=MAX_ID)]
PathId = Annotated[int, Path(ge=1, le=MAX_ID)]


def _has_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_has_nul(v) for v in value)
    return False


class StrictSchema(Schema):
    """Refuses unknown fields and text with NUL characters (no database stores them)."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data):
        if isinstance(data, dict) and _has_nul(data):
            raise ValueError("Text may not contain NUL characters.")
        return data


def _email(value: str | None) -> str | None:
    if value:
        try:
            validate_email(value)
        except DjangoValidationError as exc:
            raise ValueError("Enter a valid email address.") from exc
    return value


# --- answers ---------------------------------------------------------------------------------


class RegionRef(Schema):
    code: str
    name: str
    level: str


class AddressOut(Schema):
    id: int
    customer_id: int
    kind: AddressKindName
    is_primary: bool
    raw_text: str
    detail: str
    postcode: str
    region: RegionRef | None
    country: str | None
    province: str | None
    city: str | None
    district: str | None
    lat: float | None
    lng: float | None
    precision: PrecisionName
    geocode_source: str
    verified_at: datetime | None
    version: int
    category_ids: list[int]
    created_at: datetime
    updated_at: datetime


class CustomerOut(Schema):
    id: int
    name: str
    kind: CustomerKindName
    stage: StageName
    owner_id: int | None
    phone: str
    email: str
    external_id: str | None
    created_at: datetime
    updated_at: datetime
    addresses: list[AddressOut] = []


class CustomerPage(Schema):
    items: list[CustomerOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


class AddressPage(Schema):
    items: list[AddressOut]
    next_cursor: str | None


class HistoryEntryOut(Schema):
    version: int
    channel: str
    actor_id: int | None
    created_at: datetime
    changed_fields: list[str]
    before: dict | None
    after: dict


class CategoryOut(Schema):
    id: int
    name: str
    description: str
    colour: str
    parent_id: int | None


class RegionOut(Schema):
    code: str
    name: str
    name_en: str
    level: str
    parent_code: str | None
    lat: float | None
    lng: float | None
    is_active: bool


class ParsedRegion(Schema):
    code: str
    name: str
    level: str


class Ambiguity(Schema):
    level: str
    candidates: list[ParsedRegion]


class ParseOut(Schema):
    country: ParsedRegion | None
    province: ParsedRegion | None
    city: ParsedRegion | None
    district: ParsedRegion | None
    detail: str
    postcode: str
    confidence: float
    ambiguities: list[Ambiguity]


class GeocodeOut(Schema):
    lat: float
    lng: float
    precision: PrecisionName
    source: str
    region_code: str


class Problem(Schema):
    type: str
    title: str
    status: int
    detail: str = ""
    errors: list[dict] = []


# --- requests --------------------------------------------------------------------------------


class AddressFields(StrictSchema):
    kind: AddressKindName | None = None
    is_primary: bool | None = None
    raw_text: str | None = Field(
        None, max_length=1000, description="Free text; parsed when no region codes are given."
    )
    detail: str | None = Field(None, max_length=300)
    postcode: str | None = Field(None, max_length=20)
    region_code: str | None = Field(None, max_length=20, description="The deepest region, by code.")
    country_code: str | None = Field(None, max_length=20)
    province_code: str | None = Field(None, max_length=20)
    city_code: str | None = Field(None, max_length=20)
    district_code: str | None = Field(None, max_length=20)
    lat: float | None = Field(None, ge=-90, le=90)
    lng: float | None = Field(None, ge=-180, le=180)
    crs: CrsName = Field(
        CoordinateSystem.WGS84, description="Coordinate system of lat/lng (converted to WGS-84)."
    )
    precision: PrecisionName | None = None
    category_ids: list[DbId] | None = Field(None, max_length=100)
    verified: bool | None = Field(None, description="true marks the address verified now; false clears it.")

    def input_kwargs(self) -> dict:
        """The fields given, as keyword arguments of addresses.services.AddressInput."""
        data = self.dict(exclude_unset=True, exclude={"customer_id"})
        verified = data.pop("verified", None)
        if verified is not None:
            data["verified_at"] = timezone.now() if verified else None
        if data.get("lat") is not None and "geocode_source" not in data:
            data["geocode_source"] = "api"
        return data


class AddressCreate(AddressFields):
    customer_id: DbId


class AddressUpdate(AddressFields):
    pass


class CustomerFields(StrictSchema):
    name: str = Field(min_length=1, max_length=200)
    kind: CustomerKindName = CustomerKind.ENTERPRISE
    stage: StageName = RelationshipStage.POTENTIAL
    owner_id: DbId | None = Field(None, description="Managers only; a salesperson owns what they create.")
    phone: str = Field("", max_length=40)
    email: str = Field("", max_length=254)
    external_id: str | None = Field(None, max_length=100)

    _check_email = field_validator("email")(_email)


class CustomerCreate(CustomerFields):
    addresses: list[AddressFields] = Field([], max_length=100)


class CustomerUpdate(StrictSchema):
    name: str | None = Field(None, min_length=1, max_length=200)
    kind: CustomerKindName | None = None
    stage: StageName | None = None
    owner_id: DbId | None = None
    phone: str | None = Field(None, max_length=40)
    email: str | None = Field(None, max_length=254)
    external_id: str | None = Field(None, max_length=100)


class BulkCustomerIn(StrictSchema):
    external_id: str = Field(min_length=1, max_length=100)
    name: str = Field(min_length=1, max_length=200)
    kind: CustomerKindName | None = None
    stage: StageName | None = None
    owner_id: DbId | None = Field(None, description="Managers only; ignored for a salesperson.")
    phone: str | None = Field(None, max_length=40)
    email: str | None = Field(None, max_length=254)
    addresses: list[AddressFields] = Field([], max_length=20)

    _check_email = field_validator("email")(_email)


class BulkIn(StrictSchema):
    items: list[BulkCustomerIn] = Field(
        description="At most API_MAX_ITEMS (10,000) customers, distinct external ids."
    )


class BulkItemOut(Schema):
    index: int
    external_id: str
    status: Literal["created", "updated", "unchanged", "rejected"]
    id: int | None
    address_ids: list[int]
    errors: list[dict]


class BulkOut(Schema):
    created: int
    updated: int
    unchanged: int
    rejected: int
    items: list[BulkItemOut]


class ParseIn(StrictSchema):
    text: str = Field(min_length=1, max_length=1000)


class GeocodeIn(StrictSchema):
    text: str = Field(min_length=1, max_length=1000)


class ReverseIn(StrictSchema):
    lat: float = Field(ge=-90, le=90, description="Latitude, WGS-84 degrees.")
    lng: float = Field(ge=-180, le=180, description="Longitude, WGS-84 degrees.")


class PlaceRegion(Schema):
    level: str
    code: str
    name: str


class ReverseOut(Schema):
    region_code: str
    level: str
    chain: list[PlaceRegion] = Field(description="From the country down to the region found.")
    label: str
    method: str = Field(
        description='"polygon": inside the region\'s outline; "centroid": the nearest region centre.'
    )
    approximate: bool
    distance_km: float = Field(description="To the region centre, for an approximate answer (else 0).")


class CustomerFilters(StrictSchema):
    q: str | None = None
    region: str | None = Field(None, description="Region code: customers with an address in its subtree.")
    kind: CustomerKindName | None = None
    stage: list[StageName] | None = None
    owner: DbId | None = None
    category: list[DbId] | None = None
    located: Literal["none", "coarse", "precise"] | None = None
    created_after: date | None = None
    created_before: date | None = None
    updated_after: date | None = None
    updated_before: date | None = None
    sort: Literal["name", "-name", "created", "-created", "updated", "-updated"] = "name"
    cursor: str | None = None
    limit: int = Field(50, ge=1, le=200)
