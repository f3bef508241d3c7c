"""Writing a batch of validated rows through the one write path (`customers_upsert`, then
`addresses_save`), counting what changed."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.db import transaction

from addresses.choices import Channel
from addresses.models import Address
from addresses.services import AddressInput, addresses_save
from crm.db.batch_lookup import in_values
from customers.services import customers_upsert
from geo.choices import LOCATED_GROUP
from imports.columns import FIELD_LABELS
from imports.models import ImportCheckpoint
from imports.validation import ImportRow

logger = logging.getLogger(__name__)

# -- writing -------------------------------------------------------------------


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    # Addresses of the accepted rows per LOCATED_GROUPS group ("precise", "coarse", "none").
    located: dict[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, checkpoint: ImportCheckpoint) -> Counts:
        return cls(
            checkpoint.created,
            checkpoint.updated,
            checkpoint.unchanged,
            checkpoint.rejected,
            dict(checkpoint.located or {}),
        )

    def add(self, other: Counts):
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.rejected += other.rejected
        for group, n in other.located.items():
            self.located[group] = self.located.get(group, 0) + n

    @property
    def rows(self) -> int:
        return self.created + self.updated + self.unchanged + self.rejected


def _format_errors(errors: dict[str, list[str]]) -> list[tuple[str, str]]:
    labels = {"raw_text": "address", "lat": "lat", "lng": "lng", "customer": "external_id"}
    out = []
    for f, messages in errors.items():
        for m in messages:
            out.append((FIELD_LABELS.get(labels.get(f, f), f), str(m)))
    return out


def write_batch(
    rows: list[ImportRow], *, customer_fields: list[str], actor=None, map_cells=None, dry_run=False
) -> tuple[Counts, list]:
    """Upsert the customers and addresses of `rows` (call inside a transaction).

    A row whose address is refused by the write path is dropped and the rest written
    again, so no customer is left without the address it came with. `map_cells` is the
    enclosing `map_cells_batched` block, if any (a retry drops the map changes it undoes).
    A `dry_run` takes the same steps through the services' dry runs: the same counts and
    rejects, nothing written.
    """
    rejects: list[tuple[int, list[str], list[tuple[str, str]]]] = []
    for _attempt in range(4):
        counts = Counts()
        sid = None if dry_run else transaction.savepoint_create()
        mark = map_cells.mark() if map_cells is not None else 0
        first: dict[str, int] = {}
        cust_rows = []
        for r in rows:
            if r.external_id not in first:
                first[r.external_id] = len(cust_rows)
                cust_rows.append(r.customer)
        upserted = customers_upsert(rows=cust_rows, fields=customer_fields, actor=actor, dry_run=dry_run)
        existing_ids = [pk for pk, status in upserted if status != "created"]
        current: dict[tuple[int, str], int] = {}
        if existing_ids:
            for pk, customer_id, kind in (
                Address.objects.filter(customer_id__in=in_values(existing_ids))
                .order_by("customer_id", "kind", "-is_primary", "id")
                .values_list("id", "customer_id", "kind")
            ):
                current.setdefault((customer_id, kind), pk)
        items = []
        positions = []  # row index of each item (rows without an address have none)
        for n, r in enumerate(rows):
            if r.address is None:
                continue
            positions.append(n)
            customer_id = upserted[first[r.external_id]][0]
            address_id = current.get((customer_id, r.address_kind))
            if address_id:  # the customer's address of this kind (its primary one first), flag kept
                items.append(AddressInput(address_id=address_id, kind=r.address_kind, **r.address))
            else:
                items.append(
                    AddressInput(customer_id=customer_id, kind=r.address_kind, is_primary=True, **r.address)
                )
        result = addresses_save(items=items, actor=actor, channel=Channel.IMPORT, dry_run=dry_run)
        if result.errors:
            if sid is not None:
                transaction.savepoint_rollback(sid)
            if map_cells is not None:
                map_cells.discard(mark)
            bad = {positions[i]: errors for i, errors in result.errors.items()}
            for n in sorted(bad):
                rejects.append((rows[n].row_no, rows[n].cells, _format_errors(bad[n])))
            rows = [r for n, r in enumerate(rows) if n not in bad]
            continue
        address_status = dict(zip(positions, result.statuses))
        if sid is not None:
            transaction.savepoint_commit(sid)
        seen_customer = set()
        for i, r in enumerate(rows):
            status = upserted[first[r.external_id]][1]
            if r.repeat or r.external_id in seen_customer:
                status = "unchanged"  # counted on the customer's first row in the file
            seen_customer.add(r.external_id)
            if "created" in (status, address_status.get(i)):
                counts.created += 1
            elif "updated" in (status, address_status.get(i)):
                counts.updated += 1
            else:
                counts.unchanged += 1
        for address in result.addresses:
            if address is not None:
                group = LOCATED_GROUP.get(address.precision, "none")
                counts.located[group] = counts.located.get(group, 0) + 1
        counts.rejected = len(rejects)
        return counts, rejects
    raise RuntimeError("the write path kept refusing rows")  # pragma: no cover


# A file to start from: the columns most files need (under their first header, which is
# also the export's), with one row that imports cleanly.
