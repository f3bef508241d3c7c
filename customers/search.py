"""Free-text search of customers by name and address text.

Chinese words are mostly two characters long (科技, 南山, 欧阳), too short for
pg_trgm: a LIKE '%科技%' has no whole trigram, so a plain trigram index cannot
narrow it and PostgreSQL reads every row. The indexes here are on the text with
every character doubled (科技 → 科科技技): a term of two characters then has two
trigrams of its own, and "the text contains the term" is exactly "the doubled
text contains the doubled term", so LIKE on the doubled forms stays exact.

A common term (the 100,000 names with 科技) is better answered the other way
round: walk the list's sort index and test each row until the page is full.
`customer_search` picks between the two from the planner's estimate.
"""

from django.db import connection
from django.db.models import Exists, F, Func, OuterRef, Q, TextField, Value

from addresses.models import Address
from crm.pagination import planned_rows
from customers.models import Customer

# Above this many estimated matches, walk the sort order instead of collecting ids.
WALK_ABOVE = 20_000


class Doubled(Func):
    """regexp_replace(upper(a || ' ' || b ...), '(.)', '\\1\\1', 'g') — the indexed search form.

    The expression must stay character for character the one in
    customers/migrations/0004_search_doubled_text.py, or the indexes go unused.
    """

    template = r"regexp_replace(upper(%(expressions)s), '(.)', '\1\1', 'g')"
    arg_joiner = " || ' ' || "
    output_field = TextField()


def _name_match(customers, value: str):
    """(customers, condition): the name contains `value`, or the external id is `value`."""
    if connection.vendor != "postgresql":
        return customers, Q(name__icontains=value) | Q(external_id=value)
    condition = Q(_search_name__contains=Doubled(Value(value))) | Q(external_id=value)
    return customers.alias(_search_name=Doubled(F("name"))), condition


def _address_matches(value: str):
    addresses = Address.objects.all()
    if connection.vendor != "postgresql":
        return addresses.filter(Q(raw_text__icontains=value) | Q(detail__icontains=value))
    return addresses.alias(_search_text=Doubled(F("raw_text"), F("detail"))).filter(
        _search_text__contains=Doubled(Value(value))
    )


def customer_search(queryset, value: str):
    """`queryset` narrowed to customers whose name, external id or address text contain `value`.

    Returns (queryset, walk): `walk` is True when the term is so common that the
    page is found by walking the sort order and testing each row.
    """
    names, named = _name_match(Customer.objects.all(), value)
    matching = (
        names.filter(named)
        .order_by()
        .values("pk")
        .union(_address_matches(value).order_by().values("customer_id"))
    )
    if connection.vendor == "postgresql" and planned_rows(matching) > WALK_ABOVE:
        # A range instead of customer_id = id: PostgreSQL cannot turn it into one hashed
        # subplan over every matching address (built before the first row, the LIMIT
        # notwithstanding), so each row walked is one index probe of its own addresses.
        in_address = Exists(
            _address_matches(value).filter(customer_id__gte=OuterRef("pk"), customer_id__lte=OuterRef("pk"))
        )
        queryset, named = _name_match(queryset, value)
        return queryset.filter(named | in_address), True
    return queryset.filter(pk__in=matching), False
