import json

from django.db import connection
from django.utils.functional import cached_property

from crm.pagination import EstimatedCountPaginator


class CustomerPaginator(EstimatedCountPaginator):
    """Pages of a customer list without counting a million rows.

    Unfiltered lists are counted from the table statistics (the parent class).
    Filtered lists are counted exactly up to `exact_limit` rows; past that, on
    PostgreSQL, the planner's row estimate is used and `estimated` is set so the
    page can say "about N".
    """

    exact_limit = 10_000

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.estimated = False

    @cached_property
    def count(self):
        qs = self.object_list
        if connection.vendor != "postgresql":
            return qs.count()
        if not qs.query.where:
            count = super().count
            self.estimated = count > self.estimate_threshold
            return count
        capped = qs.order_by()[: self.exact_limit + 1].count()
        if capped <= self.exact_limit:
            return capped
        self.estimated = True
        return max(self._planner_rows(qs), capped)

    @staticmethod
    def _planner_rows(qs) -> int:
        plan = json.loads(qs.order_by().explain(format="json"))
        return int(plan[0]["Plan"]["Plan Rows"])
