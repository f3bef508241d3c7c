"""Background work of the analysis app (django.tasks)."""

from django.tasks import task

from analysis.services import scores_recompute


@task
def scores_recompute_task() -> int:
    """Recompute every customer's scores and lifecycle stages (after an order import, or nightly)."""
    return scores_recompute().scored
