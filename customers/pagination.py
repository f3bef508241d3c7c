from django.db import connection
from django.utils.functional import cached_property

from crm.pagination import EstimatedCountPaginator, planned_rows


class CustomerPaginator(EstimatedCountPaginator):
    """Pages of a customer list without counting a million rows.

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
        planner estimate is better than the list's own (see customers.selectors)."""
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
