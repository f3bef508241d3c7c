"""A data subject's copy of their data (PIPL art. 45, GDPR art. 15): one customer's record, their
addresses, the addresses' history and the audit entries about them, as a zip of JSON and CSV."""

import csv
import io
import json
import zipfile

from django.core.serializers.json import DjangoJSONEncoder

from addresses.models import Address, AddressVersion
from customers.models import Customer
from trust.models import AuditEntry

CUSTOMER_FIELDS = ("id", "name", "kind", "stage", "phone", "email", "external_id", "created_at", "updated_at")
ADDRESS_FIELDS = (
    "id", "kind", "is_primary", "raw_text", "detail", "postcode", "region__code", "region__name",
    "lat", "lng", "precision", "geocode_source", "verified_at", "version", "created_at", "updated_at",
)  # fmt: skip
HISTORY_FIELDS = (
    "address_id", "version", "created_at", "actor_name", "channel", "changed_fields", "before", "after", "hash",
)  # fmt: skip
AUDIT_FIELDS = ("created_at", "actor_name", "action", "details")


def _json(value) -> bytes:
    return json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2).encode()


def _csv(rows: list[dict], fields) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(fields), extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow(
            {
                k: json.dumps(v, ensure_ascii=False) if isinstance(v, dict | list) else v
                for k, v in row.items()
            }
        )
    return "\ufeff".encode() + out.getvalue().encode()  # BOM: Excel reads it as UTF-8


def subject_export_zip(*, customer: Customer) -> bytes:
    """The zip for `customer` (already checked visible to the requesting manager)."""
    record = Customer.objects.filter(pk=customer.pk).values(*CUSTOMER_FIELDS, "owner__username").get()
    addresses = list(Address.objects.filter(customer_id=customer.pk).order_by("pk").values(*ADDRESS_FIELDS))
    history = list(
        AddressVersion.objects.filter(customer_id=customer.pk)
        .order_by("address_id", "version")
        .values(*HISTORY_FIELDS)
    )
    audit = list(
        AuditEntry.objects.filter(customer_id=customer.pk).order_by("created_at", "id").values(*AUDIT_FIELDS)
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("customer.json", _json(record))
        z.writestr("addresses.json", _json(addresses))
        z.writestr("addresses.csv", _csv(addresses, ADDRESS_FIELDS))
        z.writestr("history.json", _json(history))
        z.writestr("history.csv", _csv(history, HISTORY_FIELDS))
        z.writestr("audit.json", _json(audit))
        z.writestr("audit.csv", _csv(audit, AUDIT_FIELDS))
    return buffer.getvalue()
