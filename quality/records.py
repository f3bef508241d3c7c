"""Customers as matching records (quality.matching.CustomerRecord), read from the database in
chunks: the duplicate scan, the save-time check and the key refresh all start here. Reads only."""

from collections.abc import Iterable, Iterator, Sequence

from addresses.models import Address
from crm.db.batch_lookup import in_values
from customers.models import Customer
from quality.matching import CustomerRecord, address_fingerprint, email_key, phone_key

CHUNK = 5000


def records_for(customer_ids: Sequence[int]) -> list[CustomerRecord]:
    """Matching records of these customers (missing ids are skipped)."""
    rows = list(
        Customer.objects.filter(pk__in=in_values(customer_ids))
        .order_by("pk")
        .values_list("pk", "name", "phone", "email")
    )
    return _build(rows)


def records_all(*, chunk: int = CHUNK) -> Iterator[list[CustomerRecord]]:
    """Every customer's record, `chunk` at a time in id order (keyset pages: memory stays flat)."""
    last = 0
    while True:
        rows = list(
            Customer.objects.filter(pk__gt=last)
            .order_by("pk")
            .values_list("pk", "name", "phone", "email")[:chunk]
        )
        if not rows:
            return
        last = rows[-1][0]
        yield _build(rows)


def record_of_input(
    *, name: str, phone: str = "", email: str = "", addresses: Iterable[tuple] = ()
) -> CustomerRecord:
    """A record for values not saved yet (a form or API payload): `addresses` as
    (city id, region id, detail) tuples."""
    addresses = list(addresses)
    return CustomerRecord(
        id=0,
        name=name,
        phone=phone_key(phone),
        email=email_key(email),
        city_ids=tuple(sorted({c for c, _r, _d in addresses if c})),
        addresses=tuple(sorted({fp for _c, r, d in addresses if (fp := address_fingerprint(r, d))})),
    )


def _build(rows: list[tuple]) -> list[CustomerRecord]:
    ids = [r[0] for r in rows]
    cities: dict[int, set[int]] = {}
    prints: dict[int, set[str]] = {}
    if ids:
        addresses = (
            Address.objects.filter(customer_id__in=in_values(ids))
            .order_by()
            .values_list("customer_id", "city_id", "province_id", "region_id", "detail")
        )
        for customer_id, city_id, province_id, region_id, detail in addresses:
            # Direct-administered cities (北京) have no city level: the province stands in.
            place = city_id or province_id
            if place:
                cities.setdefault(customer_id, set()).add(place)
            fp = address_fingerprint(region_id, detail)
            if fp:
                prints.setdefault(customer_id, set()).add(fp)
    return [
        CustomerRecord(
            id=pk,
            name=name,
            phone=phone_key(phone),
            email=email_key(email),
            city_ids=tuple(sorted(cities.get(pk, ()))),
            addresses=tuple(sorted(prints.get(pk, ()))),
        )
        for pk, name, phone, email in rows
    ]
