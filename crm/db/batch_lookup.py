"""Filter a queryset by a long list of values without a long IN list.

A batch of 5,000 rows asks "which of these 5,000 ids exist?" several times. As
`field__in=[...]` that is 5,000 bound parameters, each quoted into the SQL by
psycopg's client-side binding and parsed again by PostgreSQL; one array literal
(`IN (SELECT unnest(%s::bigint[]))`) is one parameter.
"""

from collections.abc import Iterable

from django.db import connection
from django.db.models.expressions import RawSQL

MIN_VALUES = 100


def _text_element(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def in_values(values: Iterable, *, db_type: str = "bigint"):
    """`values` for a `field__in=` lookup: one array parameter on PostgreSQL for long lists."""
    values = list(values)
    if connection.vendor != "postgresql" or len(values) < MIN_VALUES:
        return values
    if db_type == "text":
        literal = "{" + ",".join(_text_element(str(v)) for v in values) + "}"
    else:
        literal = "{" + ",".join(str(int(v)) for v in values) + "}"
    return RawSQL(f"SELECT unnest(%s::{db_type}[])", [literal])  # noqa: S611 (db_type is ours, values bound)
