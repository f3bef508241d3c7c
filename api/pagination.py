"""Cursor pagination: a page ends with an opaque cursor naming its last row's sort key and id;
the next page is a keyset query from there (no OFFSET, stable while rows are added)."""

import base64
import json
from datetime import datetime

from django.db.models import Q

from api.problems import ApiProblem


def encode_cursor(values: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(values, default=str).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> dict:
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(data, dict) or not isinstance(data.get("id"), int):
            raise ValueError
        return data
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiProblem(
            400,
            "Invalid request",
            "The cursor is not one this API gave.",
            kind="validation",
            errors=[{"pointer": "#/query/cursor", "detail": "invalid cursor"}],
        ) from exc


def after_cursor(queryset, *, field: str, descending: bool, cursor: dict):
    """Rows after `cursor` in the order (field, pk), both ascending or both descending."""
    value = cursor.get("v")
    if field != "pk" and value is None:
        raise ApiProblem(400, "Invalid request", "The cursor is not one this API gave.", kind="validation")
    if field.endswith("_at") and isinstance(value, str):
        value = datetime.fromisoformat(value)
    op = "lt" if descending else "gt"
    if field == "pk":
        return queryset.filter(**{f"pk__{op}": cursor["id"]})
    return queryset.filter(Q(**{f"{field}__{op}": value}) | Q(**{field: value, f"pk__{op}": cursor["id"]}))


def cursor_of(row, field: str) -> str:
    value = getattr(row, field) if field != "pk" else None
    if isinstance(value, datetime):
        value = value.isoformat()
    return encode_cursor({"v": value, "id": row.pk} if field != "pk" else {"id": row.pk})
