"""Keys for the list's substring search: the pairs of adjacent characters of each text.

Chinese words are mostly two characters long (科技, 南山, 欧阳), too short for pg_trgm's
trigrams. So each searchable row keeps the keys of its character pairs (bigrams) in an
integer array with a GIN index, written by the write path: "the text contains the term"
implies "the row's keys contain every key of the term", which the index answers, and the
text itself is then tested with LIKE, so matches stay exact. It is what the pg_bigm
extension does inside PostgreSQL, computed once per write in Python; an address written
costs its index less than half of what the doubled-text trigram index it replaces did
(one key per pair, no regular expression or trigram extraction in the database).

Text is compared upper-cased with Unicode's full case mapping (Python's str.upper(),
ICU's upper() in PostgreSQL: SEARCH_COLLATION), so a key set never misses a match.
"""

import sys
from array import array

from django.conf import settings
from django.db import models

# The collation whose upper() the search compares with (ICU: full case mapping, like str.upper()).
SEARCH_COLLATION = settings.PINYIN_COLLATION


def search_keys(*parts: str) -> array:
    """The keys of the character pairs of `parts` joined by spaces (none for a single character),
    in no order and possibly repeated (the index keeps each once).

    A key is the pair's two UTF-16 code units read as one signed 32-bit integer (first unit
    low): every pair of a term is then a pair of any text containing it, and the keys come
    out of two array() reads of the encoded text, without a Python loop per character.
    """
    encoded = " ".join(parts).upper().encode("utf-16-le")
    n = len(encoded)
    keys = array("i", encoded[: n // 4 * 4])
    if n >= 4:
        keys.frombytes(encoded[2 : 2 + (n - 2) // 4 * 4])
    if sys.byteorder == "big":
        keys.byteswap()
    return keys


def fill_search_keys(connection, table: str, *columns: str, chunk: int = 20_000) -> None:
    """Compute the keys of every row of `table` (PostgreSQL; for migrations)."""
    last = 0
    text = ", ".join(columns)
    with connection.cursor() as cursor:
        while True:
            cursor.execute(
                f"SELECT id, {text} FROM {table} WHERE id > %s ORDER BY id LIMIT %s",  # noqa: S608 (constants)
                [last, chunk],
            )
            rows = cursor.fetchall()
            if not rows:
                return
            last = rows[-1][0]
            ids = [row[0] for row in rows]
            keys = ["{" + ",".join(map(str, search_keys(*(v or "" for v in row[1:])))) + "}" for row in rows]
            cursor.execute(
                f"UPDATE {table} t SET search_keys = v.keys::integer[] "  # noqa: S608 (constants)
                "FROM unnest(%s::bigint[], %s::text[]) AS v(id, keys) WHERE t.id = v.id",
                [ids, keys],
            )


class SearchKeysField(models.Field):
    """An integer array of `search_keys` over other fields of the row (PostgreSQL; elsewhere an
    unused text column: the search there tests the text itself).

    Saving an instance fills it from `source` (field names joined by a space); bulk writers
    (COPY, bulk_update) set it themselves with `search_keys`.
    """

    description = "Search keys of other fields"

    def __init__(self, *args, source: tuple[str, ...] = (), **kwargs):
        self.source = tuple(source)
        kwargs.setdefault("editable", False)
        kwargs.setdefault("null", True)
        kwargs.setdefault("blank", True)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs["source"] = self.source
        for key, default in (("editable", False), ("null", True), ("blank", True)):
            if kwargs.get(key, default) == default:
                kwargs.pop(key, None)
        return name, path, args, kwargs

    def db_type(self, connection):
        return "integer[]" if connection.vendor == "postgresql" else "text"

    def get_db_prep_value(self, value, connection, prepared=False):
        if connection.vendor != "postgresql":
            return None
        return list(value) if isinstance(value, array) else value

    def pre_save(self, model_instance, add):
        if self.source:
            value = search_keys(" ".join(getattr(model_instance, name) or "" for name in self.source))
            setattr(model_instance, self.attname, value)
            return value
        return super().pre_save(model_instance, add)


@SearchKeysField.register_lookup
class HasKeys(models.Lookup):
    """`search_keys__has_keys=[...]`: the row holds every key given (PostgreSQL's @>, GIN-indexed)."""

    lookup_name = "has_keys"

    def get_db_prep_lookup(self, value, connection):
        return "%s", [list(value)]

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} @> {rhs}::integer[]", (*lhs_params, *rhs_params)
