"""Customer endpoints: list (the list page's filters, cursor pages), read, create (with
addresses), change, delete. Reads start from Customer.objects.visible_to; writes call
customers.services and addresses.services with channel `api`."""

from dataclasses import asdict

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.http import HttpResponse, QueryDict
from ninja import Query, Router

from addresses.choices import Channel
from addresses.services import addresses_save
from api.auth import read_auth, write_auth
from api.bulk_upsert import BulkItem, customers_bulk_upsert
from api.idempotency import idempotent, render
from api.pagination import after_cursor, cursor_of, decode_cursor
from api.payloads import customer_data
from api.problems import ApiProblem, field_errors, validation_problem
from api.schemas import (
    BulkIn,
    BulkOut,
    CustomerCreate,
    CustomerFilters,
    CustomerOut,
    CustomerPage,
    CustomerUpdate,
    PathId,
    Problem,
)
from api.selectors import api_customer_get, api_customers_page
from api.views.addresses import address_input
from crm.roles import is_manager
from customers.filtersets import SORT_FIELDS, CustomerFilterSet
from customers.models import Customer
from customers.services import customer_create, customer_delete, customer_update

router = Router(tags=["customers"])
ERRORS = {400: Problem, 401: Problem, 403: Problem, 404: Problem, 429: Problem}


def _filter_params(filters: CustomerFilters) -> QueryDict:
    params = QueryDict(mutable=True)
    for name in ("q", "region", "kind", "owner", "located", "sort"):
        value = getattr(filters, name)
        if value is not None:
            params[name] = str(value)
    for name in ("stage", "category"):
        for value in getattr(filters, name) or ():
            params.appendlist(name, str(value))
    for name in ("created", "updated"):
        for end in ("after", "before"):
            value = getattr(filters, f"{name}_{end}")
            if value is not None:
                params[f"{name}_{end}"] = value.isoformat()
    return params


@router.get("/customers/", response={200: CustomerPage, **ERRORS}, auth=read_auth)
def customers_list(request, filters: Query[CustomerFilters]):
    """The customers the token's user may see, filtered like the customer list page."""
    filterset = CustomerFilterSet(_filter_params(filters), queryset=Customer.objects.visible_to(request.user))
    if not filterset.is_valid():
        raise validation_problem(field_errors(filterset.errors, ("query",)))
    field = SORT_FIELDS[filters.sort.lstrip("-")]
    descending = filters.sort.startswith("-")
    qs = filterset.qs
    if filters.cursor:
        qs = after_cursor(qs, field=field, descending=descending, cursor=decode_cursor(filters.cursor))
    rows = api_customers_page(queryset=qs, limit=filters.limit)
    more = len(rows) > filters.limit
    rows = rows[: filters.limit]
    return {
        "items": [customer_data(c, c.address_list) for c in rows],
        "next_cursor": cursor_of(rows[-1], field) if more else None,
    }


@router.get("/customers/{int:customer_id}", response={200: CustomerOut, **ERRORS}, auth=read_auth)
def customer_read(request, customer_id: PathId):
    customer = api_customer_get(user=request.user, pk=customer_id)
    return customer_data(customer, customer.address_list)


def _owner(request, owner_id: int | None, *, creating: bool):
    """The owner to set: a salesperson owns what they create and hands nothing over."""
    if not is_manager(request.user):
        if owner_id is not None and owner_id != request.user.pk:
            raise ApiProblem(403, "Forbidden", "Only managers assign customers to other users.")
        return request.user if creating else None
    if owner_id is None:
        return None
    owner = get_user_model().objects.filter(pk=owner_id, is_active=True).first()
    if owner is None:
        raise validation_problem([{"pointer": "#/owner_id", "detail": "No active user has this id."}])
    return owner


@router.post("/customers/", response={201: CustomerOut, **ERRORS}, auth=write_auth)
@idempotent
@transaction.atomic
def customer_post(request, payload: CustomerCreate):
    """Create a customer and its addresses as one unit: any bad address creates nothing."""
    fields = payload.dict(exclude={"addresses", "owner_id"})
    fields["owner"] = _owner(request, payload.owner_id, creating=True)
    customer = customer_create(actor=request.user, **fields)
    if payload.addresses:
        items = [address_input(a, customer_id=customer.pk) for a in payload.addresses]
        result = addresses_save(items=items, actor=request.user, channel=Channel.API)
        if result.errors:
            transaction.set_rollback(True)
            errors = [
                e for i, errs in sorted(result.errors.items()) for e in field_errors(errs, ("addresses", i))
            ]
            raise validation_problem(errors, "An address is not valid: nothing was created.")
    customer = api_customer_get(user=request.user, pk=customer.pk)
    response = render((201, customer_data(customer, customer.address_list)))
    response["Location"] = f"/api/v1/customers/{customer.pk}"
    return response


@router.patch("/customers/{int:customer_id}", response={200: CustomerOut, **ERRORS}, auth=write_auth)
def customer_patch(request, customer_id: PathId, payload: CustomerUpdate):
    """Change the fields given (owner: managers only)."""
    customer = api_customer_get(user=request.user, pk=customer_id)
    changes = payload.dict(exclude_unset=True)
    if "owner_id" in changes:
        changes["owner"] = _owner(request, changes.pop("owner_id"), creating=False)
        if changes["owner"] is None and not is_manager(request.user):
            changes.pop("owner")
    for name in ("name", "kind", "stage"):
        if name in changes and changes[name] is None:
            raise validation_problem([{"pointer": f"#/{name}", "detail": "This field cannot be null."}])
    for name in ("phone", "email"):
        if name in changes and changes[name] is None:
            changes[name] = ""
    if changes:
        customer_update(customer=customer, actor=request.user, **changes)
    customer = api_customer_get(user=request.user, pk=customer_id)
    return customer_data(customer, customer.address_list)


@router.delete("/customers/{int:customer_id}", response={204: None, **ERRORS}, auth=write_auth)
def customer_remove(request, customer_id: PathId):
    """Delete a customer and its addresses (managers only)."""
    customer = api_customer_get(user=request.user, pk=customer_id)
    if not is_manager(request.user):
        raise ApiProblem(403, "Forbidden", "Only managers delete customers.")
    customer_delete(customer=customer, actor=request.user)
    return HttpResponse(status=204)


@router.post("/customers/bulk", response={200: BulkOut, 413: Problem, **ERRORS}, auth=write_auth)
@idempotent
def customers_bulk(request, payload: BulkIn):
    """Create or update up to 10,000 customers with their addresses, matched by external id,
    through the import's batch write path; answers a result per item (a refused item writes
    nothing of itself, the others are written)."""
    if len(payload.items) > settings.API_MAX_ITEMS:
        raise validation_problem(
            [{"pointer": "#/items", "detail": f"At most {settings.API_MAX_ITEMS} items a call."}],
            f"{len(payload.items)} items sent; the limit is {settings.API_MAX_ITEMS}.",
        )
    first: dict[str, int] = {}
    duplicates = []
    for i, item in enumerate(payload.items):
        if item.external_id in first:
            duplicates.append(
                {"pointer": f"#/items/{i}/external_id", "detail": f"Repeats item {first[item.external_id]}."}
            )
        first.setdefault(item.external_id, i)
    if duplicates:
        raise validation_problem(duplicates, "Each external id may appear once a call.")
    items = [
        BulkItem(
            customer=item.dict(exclude_unset=True, exclude={"addresses"}) | {"external_id": item.external_id},
            addresses=[a.input_kwargs() for a in item.addresses],
        )
        for item in payload.items
    ]
    for item in items:
        for name in ("phone", "email"):
            if item.customer.get(name, "") is None:
                item.customer[name] = ""
        for name in ("kind", "stage"):
            if name in item.customer and item.customer[name] is None:
                del item.customer[name]
    results = customers_bulk_upsert(items=items, actor=request.user)
    counts = {s: sum(r.status == s for r in results) for s in ("created", "updated", "unchanged", "rejected")}
    return {**counts, "items": [asdict(r) for r in results]}
