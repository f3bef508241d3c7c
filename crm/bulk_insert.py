"""Insert many new model rows fast: COPY on PostgreSQL, bulk_create elsewhere.

Used by the batch-native write services (addresses_save, customers_upsert) so a
bulk import skips the ORM's per-row INSERT compilation and parameter binding.
"""

import json

from django.db import connections, router
from django.db.models import JSONField

COPY_MIN_ROWS = 200


def bulk_insert(model, objs: list, *, now=None) -> list:
    """Insert `objs` (new instances); sets their primary keys like bulk_create does."""
    if not objs:
        return objs
    db = router.db_for_write(model)
    connection = connections[db]
    if connection.vendor != "postgresql" or len(objs) < COPY_MIN_ROWS:
        return model.objects.bulk_create(objs)
    meta = model._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    stamped = [f for f in fields if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)]
    if stamped:
        from django.utils import timezone

        now = now or timezone.now()
        for obj in objs:
            for f in stamped:
                if getattr(obj, f.attname) is None or f.auto_now:
                    setattr(obj, f.attname, now)
    table = connection.ops.quote_name(meta.db_table)
    pk = meta.pk
    columns = ", ".join(connection.ops.quote_name(c) for c in [pk.column, *(f.column for f in fields)])
    json_at = {i for i, f in enumerate(fields) if isinstance(f, JSONField)}
    attnames = [f.attname for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [meta.db_table, pk.column, len(objs)],
        )
        ids = [row[0] for row in cursor.fetchall()]
        raw = cursor.cursor
        with raw.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:  # noqa: S608 (names from _meta)
            write = copy.write_row
            for obj, pk_value in zip(objs, ids):
                values = [getattr(obj, a) for a in attnames]
                for i in json_at:
                    if values[i] is not None:
                        values[i] = json.dumps(values[i], ensure_ascii=False)
                write([pk_value, *values])
    for obj, pk_value in zip(objs, ids):
        obj.pk = pk_value
        obj._state.adding = False
        obj._state.db = db
    return objs
