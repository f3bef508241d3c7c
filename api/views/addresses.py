"""Address endpoints: list, read (with an ETag: the address's version), create, change
(If-Match: 412 on a stale version, nothing written) and history. Writes go through
addresses.services.addresses_save with channel `api`."""

import re

from ninja import Query, Router
from pydantic import Field

from addresses.choices import Channel
from addresses.services import AddressInput, addresses_save
from api.auth import read_auth, write_auth
from api.idempotency import idempotent, render
from api.pagination import after_cursor, cursor_of, decode_cursor
from api.payloads import address_data
from api.problems import ApiProblem, field_errors, validation_problem
from api.schemas import (
    AddressCreate,
    AddressFields,
    AddressOut,
    AddressPage,
    AddressUpdate,
    DbId,
    HistoryEntryOut,
    PathId,
    Problem,
    StrictSchema,
)
from api.selectors import api_address_get, api_address_history, api_addresses_visible, api_customer_get

router = Router(tags=["addresses"])
ERRORS = {400: Problem, 401: Problem, 403: Problem, 404: Problem, 429: Problem}
_ETAG = re.compile(r'^(?:W/)?"(\d+)"$')


def address_input(fields: AddressFields, **ids) -> AddressInput:
    """An API address body as the write path's input."""
    return AddressInput(**ids, **fields.input_kwargs())


def _etag(address) -> str:
    return f'"{address.version}"'


def _with_etag(address, status: int = 200):
    response = render((status, address_data(address)))
    response["ETag"] = _etag(address)
    return response


def _save_one(request, item: AddressInput) -> int:
    result = addresses_save(items=[item], actor=request.user, channel=Channel.API)
    if result.errors:
        raise validation_problem(field_errors(result.errors[0]))
    return result.addresses[0].pk


class AddressFilters(StrictSchema):
    customer_id: DbId | None = None
    cursor: str | None = None
    limit: int = Field(50, ge=1, le=200)


@router.get("/addresses/", response={200: AddressPage, **ERRORS}, auth=read_auth)
def addresses_list(request, filters: Query[AddressFilters]):
    """Addresses of the customers the token's user may see, in id order."""
    qs = api_addresses_visible(user=request.user, customer_id=filters.customer_id)
    if filters.cursor:
        qs = after_cursor(qs, field="pk", descending=False, cursor=decode_cursor(filters.cursor))
    rows = list(qs[: filters.limit + 1])
    more = len(rows) > filters.limit
    rows = rows[: filters.limit]
    return {
        "items": [address_data(a) for a in rows],
        "next_cursor": cursor_of(rows[-1], "pk") if more else None,
    }


@router.get("/addresses/{int:address_id}", response={200: AddressOut, **ERRORS}, auth=read_auth)
def address_read(request, address_id: PathId):
    """One address; its `ETag` is its version, for `If-Match` on a change."""
    return _with_etag(api_address_get(user=request.user, pk=address_id))


@router.post("/addresses/", response={201: AddressOut, **ERRORS}, auth=write_auth)
@idempotent
def address_post(request, payload: AddressCreate):
    """Add an address to a customer the token's user may see."""
    customer = api_customer_get(user=request.user, pk=payload.customer_id)
    pk = _save_one(request, address_input(payload, customer_id=customer.pk))
    response = _with_etag(api_address_get(user=request.user, pk=pk), status=201)
    response["Location"] = f"/api/v1/addresses/{pk}"
    return response


@router.patch(
    "/addresses/{int:address_id}",
    response={200: AddressOut, 412: Problem, 428: Problem, **ERRORS},
    auth=write_auth,
)
def address_patch(request, address_id: PathId, payload: AddressUpdate):
    """Change the fields given. Send `If-Match` with the ETag you read: a stale one answers 412
    and writes nothing."""
    address = api_address_get(user=request.user, pk=address_id)
    expected = address.version
    if_match = request.headers.get("If-Match")
    if if_match and if_match.strip() != "*":
        match = _ETAG.match(if_match.strip())
        if match is None:
            raise ApiProblem(
                400, "Invalid request", 'If-Match must be an ETag such as "3".', kind="validation"
            )
        expected = int(match.group(1))
        if expected != address.version:
            raise ApiProblem(
                412,
                "Precondition failed",
                f"The address is at version {address.version}, not {expected}: read it again and retry.",
                kind="stale-version",
                headers={"ETag": _etag(address)},
            )
    _save_one(request, address_input(payload, address_id=address.pk, expected_version=expected))
    return _with_etag(api_address_get(user=request.user, pk=address_id))


@router.get(
    "/addresses/{int:address_id}/history", response={200: list[HistoryEntryOut], **ERRORS}, auth=read_auth
)
def address_history(request, address_id: PathId):
    """Every recorded change of the address, oldest first (read-only)."""
    address = api_address_get(user=request.user, pk=address_id)
    return [
        {
            "version": v.version,
            "channel": v.channel,
            "actor_id": v.actor_id,
            "created_at": v.created_at,
            "changed_fields": v.changed_fields,
            "before": v.before,
            "after": v.after,
        }
        for v in api_address_history(address=address)
    ]
