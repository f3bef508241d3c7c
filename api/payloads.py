"""How customers and addresses look outside Dizhi: one shape for API answers and webhook
payloads (api/schemas.py declares the same shape for the OpenAPI document)."""

from addresses.models import Address
from customers.models import Customer


def _region(region) -> dict | None:
    if region is None:
        return None
    return {"code": region.code, "name": region.name, "level": region.level}


def address_data(address: Address) -> dict:
    """An address with its region chain (codes), point and category ids. Expects the regions
    selected with it and the categories prefetched."""
    return {
        "id": address.pk,
        "customer_id": address.customer_id,
        "kind": address.kind,
        "is_primary": address.is_primary,
        "raw_text": address.raw_text,
        "detail": address.detail,
        "postcode": address.postcode,
        "region": _region(address.region),
        "country": address.country.code if address.country_id else None,
        "province": address.province.code if address.province_id else None,
        "city": address.city.code if address.city_id else None,
        "district": address.district.code if address.district_id else None,
        "lat": float(address.lat) if address.lat is not None else None,
        "lng": float(address.lng) if address.lng is not None else None,
        "precision": address.precision,
        "geocode_source": address.geocode_source,
        "verified_at": address.verified_at,
        "version": address.version,
        "category_ids": sorted(c.pk for c in address.categories.all()),
        "created_at": address.created_at,
        "updated_at": address.updated_at,
    }


def customer_data(customer: Customer, addresses: list[Address] | None = None) -> dict:
    """A customer, with its addresses when they were read (`addresses`)."""
    data = {
        "id": customer.pk,
        "name": customer.name,
        "kind": customer.kind,
        "stage": customer.stage,
        "owner_id": customer.owner_id,
        "phone": customer.phone,
        "email": customer.email,
        "external_id": customer.external_id,
        "created_at": customer.created_at,
        "updated_at": customer.updated_at,
    }
    if addresses is not None:
        data["addresses"] = [address_data(a) for a in addresses]
    return data


ADDRESS_RELATED = ("region", "country", "province", "city", "district")
