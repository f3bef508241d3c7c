"""Insert many new model rows fast: COPY on PostgreSQL, bulk_create elsewhere.

Used by the batch-native write services (addresses_save, customers_upsert) so a
bulk import skips the ORM's per-row INSERT compilation and parameter binding.
`bulk_insert_rows` goes one step further for rows nobody reads back (history,
links): plain tuples in, no model instances built at all.
"""

import json
from collections.abc import Sequence

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
    json_at = [i for i, f in enumerate(fields) if isinstance(f, JSONField)]
    attnames = [f.attname for f in fields]
    with connection.cursor() as cursor:
        ids = _reserve_ids(cursor, meta, len(objs))
        raw = cursor.cursor
        with raw.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:  # noqa: S608 (names from _meta)
            write = copy.write_row
            for obj, pk_value in zip(objs, ids):
                values = [getattr(obj, a) for a in attnames]
                for i in json_at:
                    if values[i] is not None:
                        values[i] = json.dumps(values[i], ensure_ascii=False)
                values.insert(0, pk_value)
                write(values)
    for obj, pk_value in zip(objs, ids):
        obj.pk = pk_value
        obj._state.adding = False
        obj._state.db = db
    return objs


def bulk_insert_rows(model, fields: Sequence[str], rows: Sequence[Sequence]) -> None:
    """Insert `rows` of values for the model's `fields` (attnames), primary keys from the database.

    JSON fields take Python values. Nothing is returned and no instance is built, so
    defaults and auto_now stamps are the caller's: give every column a value.
    """
    if not rows:
        return
    db = router.db_for_write(model)
    connection = connections[db]
    meta = model._meta
    if connection.vendor != "postgresql" or len(rows) < COPY_MIN_ROWS:
        model.objects.using(db).bulk_create([model(**dict(zip(fields, row))) for row in rows])
        return
    by_attname = {f.attname: f for f in meta.concrete_fields}
    columns = ", ".join(connection.ops.quote_name(by_attname[a].column) for a in fields)
    json_at = [i for i, a in enumerate(fields) if isinstance(by_attname[a], JSONField)]
    table = connection.ops.quote_name(meta.db_table)
    dumps = json.JSONEncoder(ensure_ascii=False).encode
    with connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:  # noqa: S608 (names from _meta)
            write = copy.write_row
            if not json_at:
                for row in rows:
                    write(row)
                return
            for row in rows:
                values = list(row)
                for i in json_at:
                    if values[i] is not None:
                        values[i] = dumps(values[i])
                write(values)


def bulk_insert_values(model, fields: Sequence[str], rows: Sequence[Sequence]) -> list:
    """Insert `rows` of values for the model's `fields` (attnames); their new primary keys, in order.

    Like bulk_insert_rows (tuples in, no instances, every column the caller's), for
    rows whose ids the caller needs: PostgreSQL hands out the ids from the sequence first.
    """
    if not rows:
        return []
    db = router.db_for_write(model)
    connection = connections[db]
    meta = model._meta
    if connection.vendor != "postgresql" or len(rows) < COPY_MIN_ROWS:
        objs = model.objects.using(db).bulk_create([model(**dict(zip(fields, row))) for row in rows])
        return [o.pk for o in objs]
    with connection.cursor() as cursor:
        ids = _reserve_ids(cursor, meta, len(rows))
    bulk_insert_rows(model, (meta.pk.attname, *fields), [(pk, *row) for pk, row in zip(ids, rows)])
    return ids


def _reserve_ids(cursor, meta, n: int) -> list[int]:
    """`n` primary keys taken from the table's sequence (PostgreSQL)."""
    cursor.execute(
        "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
        [meta.db_table, meta.pk.column, n],
    )
    return [row[0] for row in cursor.fetchall()]
