import json

from django.core.paginator import Paginator
from django.db import connection
from django.utils.functional import cached_property


class EstimatedCountPaginator(Paginator):
    """Paginator that avoids COUNT(*) over a whole large table.

    An unfiltered queryset on PostgreSQL is counted from the planner's statistics
    (pg_class.reltuples), which is instant at any size; filtered querysets are
    counted exactly, as usual.
    """

    estimate_threshold = 100_000

    @cached_property
    def count(self):
        qs = self.object_list
        query = getattr(qs, "query", None)
        if connection.vendor == "postgresql" and query is not None and not query.where:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
                    [qs.model._meta.db_table],
                )
                row = cursor.fetchone()
            if row and row[0] and row[0] > self.estimate_threshold:
                return int(row[0])
        return super().count


def planned_rows(queryset) -> int:
    """The rows PostgreSQL's planner expects `queryset` to return (one EXPLAIN, nothing run)."""
    plan = json.loads(queryset.order_by().explain(format="json"))
    return int(plan[0]["Plan"]["Plan Rows"])


class FilteredCountPaginator(EstimatedCountPaginator):
    """Pages of a (filtered) list without counting a million rows.

    Unfiltered lists are counted from the table statistics (the parent class).
    On PostgreSQL a filtered list is first estimated by the planner (one cheap
    EXPLAIN): a clearly large result keeps that estimate; otherwise it is counted
    exactly up to `exact_limit` rows, and past that the estimate is used again.
    `estimated` tells the page to say "about N".

    The exact count fetches the (at most `exact_limit`) matching ids rather than
    counting them: `matching_ids` then lets the page be read by primary key, so a
    small selection never waits for a plan that scans the whole table in name order.
    """

    exact_limit = 10_000
    trust_estimate_above = 50_000

    def __init__(self, *args, planned=None, **kwargs):
        """`planned`, when given, is a query returning one row per matching customer whose
        planner estimate is better than the list's own (a region page, say)."""
        super().__init__(*args, **kwargs)
        self.planned = planned
        self.estimated = False
        self.matching_ids: list[int] | None = None

    @cached_property
    def count(self):
        qs = self.object_list
        if connection.vendor != "postgresql" or qs.query.is_empty():
            return qs.count()
        if not qs.query.where:
            count = super().count
            self.estimated = count > self.estimate_threshold
            return count
        planned = planned_rows(self.planned if self.planned is not None else qs)
        if planned > self.trust_estimate_above:
            self.estimated = True
            return planned
        ids = list(qs.order_by().values_list("pk", flat=True)[: self.exact_limit + 1])
        capped = len(ids)
        if capped <= self.exact_limit:
            self.matching_ids = ids
            return capped
        self.estimated = True
        return max(planned, capped)
