"""Free-text search of customers by name and address text.

Chinese words are mostly two characters long (科技, 南山, 欧阳), too short for
pg_trgm: a LIKE '%科技%' has no whole trigram, so a trigram index cannot narrow it.
On PostgreSQL each customer and address keeps the keys of its text's character
pairs (crm.db.search_keys) under a GIN index: a term's pairs narrow the rows, and
the text itself is then tested, so the match stays an exact, case-insensitive
substring match. A one-character term has no pair and is tested row by row.

A common term (the 100,000 names with 科技) is better answered the other way
round: walk the list's sort index and test each row until the page is full.
`customer_search` picks between the two from the planner's estimate.
"""

from django.db import connection
from django.db.models import Exists, F, Func, OuterRef, Q, TextField, Value

from addresses.models import Address
from crm.db.pagination import planned_rows
from crm.db.search_keys import SEARCH_COLLATION, search_keys
from customers.models import Customer

# Above this many estimated matches, walk the sort order instead of collecting ids.
WALK_ABOVE = 20_000


class SearchText(Func):
    """upper(a || ' ' || b ...) under the search's case mapping (crm.db.search_keys.SEARCH_COLLATION)."""

    template = f'upper((%(expressions)s) COLLATE "{SEARCH_COLLATION}")'
    arg_joiner = " || ' ' || "
    output_field = TextField()


def _name_match(customers, value: str, *, by_keys: bool = True):
    """(customers, condition): the name contains `value`, or the external id is `value`.

    `by_keys` adds the search-key test the GIN index answers; a walk, which tests rows one
    by one, leaves it out (for a row at hand the text test alone is cheaper).
    """
    if connection.vendor != "postgresql":
        return customers, Q(name__icontains=value) | Q(external_id=value)
    named = Q(_search_name__contains=SearchText(Value(value)))
    if by_keys and (keys := search_keys(value)):
        named &= Q(search_keys__has_keys=keys)
    return customers.alias(_search_name=SearchText(F("name"))), named | Q(external_id=value)


def _address_matches(value: str, *, by_keys: bool = True):
    addresses = Address.objects.all()
    if connection.vendor != "postgresql":
        return addresses.filter(Q(raw_text__icontains=value) | Q(detail__icontains=value))
    if by_keys and (keys := search_keys(value)):
        addresses = addresses.filter(search_keys__has_keys=keys)
    return addresses.alias(_search_text=SearchText(F("raw_text"), F("detail"))).filter(
        _search_text__contains=SearchText(Value(value))
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
    if connection.vendor == "postgresql" and _estimated_matches(value, matching) > WALK_ABOVE:
        # A range instead of customer_id = id: PostgreSQL cannot turn it into one hashed
        # subplan over every matching address (built before the first row, the LIMIT
        # notwithstanding), so each row walked is one index probe of its own addresses.
        in_address = Exists(
            _address_matches(value, by_keys=False).filter(
                customer_id__gte=OuterRef("pk"), customer_id__lte=OuterRef("pk")
            )
        )
        queryset, named = _name_match(queryset, value, by_keys=False)
        return queryset.filter(named | in_address), True
    return queryset.filter(pk__in=matching), False


def _estimated_matches(value: str, matching) -> int:
    """The planner's estimate of the customers matching `value`: from the search keys alone when
    the term has some (the planner multiplies the keys' selectivity with the LIKE test's, which
    it cannot know, so the full condition is estimated far too low for a common term)."""
    keys = search_keys(value)
    if not keys:
        return planned_rows(matching)
    by_keys = (
        Customer.objects.filter(search_keys__has_keys=keys)
        .values("pk")
        .union(Address.objects.filter(search_keys__has_keys=keys).values("customer_id"))
    )
    return planned_rows(by_keys)
