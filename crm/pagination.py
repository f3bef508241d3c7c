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
