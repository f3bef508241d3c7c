"""Reads of the API: customers and addresses for a token's user (always from
Customer.objects.visible_to), tokens and webhook endpoints for the management pages."""

from django.db.models import Prefetch, Q
from django.http import Http404

from addresses.models import Address, AddressCategory, AddressVersion
from addresses.selectors import visible_addresses
from api.models import ApiToken, WebhookDelivery, WebhookEndpoint
from api.payloads import ADDRESS_RELATED
from crm.roles import ADMIN, MANAGER, is_manager, user_roles
from customers.models import Customer

_CATEGORY_IDS = Prefetch("categories", queryset=AddressCategory.objects.only("pk"))


_ADDRESS_COLUMNS = (
    "customer_id", "kind", "is_primary", "raw_text", "detail", "postcode", "lat", "lng", "precision",
    "geocode_source", "verified_at", "version", "created_at", "updated_at",
    "region__code", "region__name", "region__level",
    "country__code", "province__code", "city__code", "district__code",
)  # fmt: skip


def api_addresses(queryset):
    """Addresses ready for api.payloads.address_data (regions joined, category ids prefetched).
    Only the columns the payload shows: a region row is wide (names, aliases, centroid)."""
    return queryset.select_related(*ADDRESS_RELATED).only(*_ADDRESS_COLUMNS).prefetch_related(_CATEGORY_IDS)


def api_customer_get(*, user, pk: int) -> Customer:
    """A customer the user may see, with its addresses (`address_list`), else Http404."""
    customer = (
        Customer.objects.visible_to(user)
        .defer("search_keys")
        .filter(pk=pk)
        .prefetch_related(
            Prefetch(
                "addresses",
                queryset=api_addresses(Address.objects.order_by("-is_primary", "kind", "pk")),
                to_attr="address_list",
            )
        )
        .first()
    )
    if customer is None:
        raise Http404
    return customer


def api_customers_page(*, queryset, limit: int) -> list[Customer]:
    """The first `limit` + 1 customers of an ordered, visible queryset, with their addresses."""
    return list(
        queryset.defer("search_keys").prefetch_related(
            Prefetch(
                "addresses",
                queryset=api_addresses(Address.objects.order_by("-is_primary", "kind", "pk")),
                to_attr="address_list",
            )
        )[: limit + 1]
    )


def api_address_get(*, user, pk: int) -> Address:
    """An address whose customer the user may see, else Http404."""
    address = api_addresses(visible_addresses(user=user)).filter(pk=pk).first()
    if address is None:
        raise Http404
    return address


def api_addresses_visible(*, user, customer_id: int | None = None):
    """Addresses of the customers the user may see, in id order (the cursor's order)."""
    qs = visible_addresses(user=user)
    if customer_id is not None:
        qs = qs.filter(customer_id=customer_id)
    return api_addresses(qs).order_by("pk")


def api_address_history(*, address: Address) -> list[AddressVersion]:
    """An (already visible) address's history, oldest first."""
    return list(AddressVersion.objects.filter(address=address).select_related("actor").order_by("version"))


def tokens_visible_to(*, user):
    """Tokens a user may see: their own; a manager also those of sales users; an admin all."""
    qs = ApiToken.objects.select_related("user")
    if user.is_superuser or ADMIN in user_roles(user):
        return qs
    if is_manager(user):
        return qs.filter(
            Q(user=user) | ~Q(user__groups__name__in=[ADMIN, MANAGER]) & Q(user__is_superuser=False)
        ).distinct()
    return qs.filter(user=user)


def webhook_endpoints(*, user):
    """Endpoints a manager or admin may see (all of them); nobody else sees any."""
    if not is_manager(user):
        return WebhookEndpoint.objects.none()
    return WebhookEndpoint.objects.select_related("created_by")


def webhook_endpoint_get(*, user, pk: int) -> WebhookEndpoint:
    endpoint = webhook_endpoints(user=user).filter(pk=pk).first()
    if endpoint is None:
        raise Http404
    return endpoint


def webhook_delivery_log(*, endpoint: WebhookEndpoint, limit: int = 100) -> list[WebhookDelivery]:
    """An endpoint's latest deliveries, each with its attempts."""
    return list(endpoint.deliveries.prefetch_related("attempt_log").order_by("-created_at", "-id")[:limit])
