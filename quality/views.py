"""The data-quality pages: likely duplicates side by side, merge and undo."""

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views import View
from django.views.generic import TemplateView

from crm.roles import is_manager
from quality import selectors
from quality.choices import PairStatus
from quality.forms import MergeForm
from quality.policy import undo_period
from quality.presentation import reason_labels, trend_points
from quality.schedule import next_due
from quality.services import (
    MERGE_FIELDS,
    address_confirm,
    customer_merge,
    customer_merge_undo,
    pair_dismiss,
    quality_snapshot_take,
)

STATUS_CHOICES = [
    ("todo", _lazy("To do")),
    ("unverified", _lazy("Never verified")),
    ("overdue", _lazy("Overdue")),
    ("due", _lazy("Due soon")),
    ("current", _lazy("Verified")),
]


class DuplicateListView(LoginRequiredMixin, TemplateView):
    template_name = "quality/duplicates.html"

    def get_context_data(self, **kwargs):
        try:
            page = max(1, int(self.request.GET.get("page", 1)))
        except ValueError:
            page = 1
        size = selectors.PAGE_SIZE
        user = self.request.user
        pairs = list(selectors.duplicate_pairs(user=user, offset=(page - 1) * size, limit=size + 1))
        for pair in pairs:
            pair.reason_labels = reason_labels(pair.reasons)
        return super().get_context_data(
            **kwargs,
            pairs=pairs[:size],
            page=page,
            has_next=len(pairs) > size,
            open_count=selectors.duplicate_pair_count(user=user),
            merges=selectors.merges_recent(user=user),
            undo_days=undo_period().days,
        )


class DuplicatePairView(LoginRequiredMixin, View):
    template_name = "quality/pair.html"

    def get(self, request, pk):
        pair = selectors.duplicate_pair_get(user=request.user, pk=pk)
        return self._render(request, pair, MergeForm())

    def post(self, request, pk):
        pair = selectors.duplicate_pair_get(user=request.user, pk=pk)
        form = MergeForm(request.POST)
        if form.is_valid():
            a, b = pair.sides
            survivor, other = (a, b) if form.cleaned_data["survivor"] == "a" else (b, a)
            try:
                merge = customer_merge(
                    survivor=survivor, other=other, values=form.merge_values(), actor=request.user, pair=pair
                )
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(
                    request,
                    _("Merged “%(other)s” into “%(survivor)s”. You can undo this for %(days)s days.")
                    % {"other": merge.merged["name"], "survivor": survivor.name, "days": undo_period().days},
                )
                return redirect("quality:duplicates")
        return self._render(request, pair, form, status=400)

    def _render(self, request, pair, form, status=200):
        a, b = pair.sides
        rows = []
        for name in MERGE_FIELDS:
            field = a._meta.get_field(name)
            display = f"get_{name}_display"
            values = []
            for c in (a, b):
                value = getattr(c, display)() if hasattr(c, display) else getattr(c, name)
                values.append("" if value is None else str(value))
            rows.append({"name": name, "label": field.verbose_name, "a": values[0], "b": values[1]})
        context = {
            "pair": pair,
            "a": a,
            "b": b,
            "rows": rows,
            "form": form,
            "reasons": reason_labels(pair.reasons),
        }
        return render(request, self.template_name, context, status=status)


class DuplicateDismissView(LoginRequiredMixin, View):
    def post(self, request, pk):
        pair = selectors.duplicate_pair_get(user=request.user, pk=pk)
        if pair.status == PairStatus.OPEN:
            pair_dismiss(pair=pair, actor=request.user)
            messages.info(request, _("Marked as not a duplicate."))
        return redirect("quality:duplicates")


class MergeUndoView(LoginRequiredMixin, View):
    def post(self, request, pk):
        merge = selectors.merge_get(user=request.user, pk=pk)
        try:
            restored = customer_merge_undo(merge=merge, actor=request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("Undone: “%(name)s” is back.") % {"name": restored.name})
        return redirect("quality:duplicates")


class ManagerRequiredMixin(LoginRequiredMixin):
    """Pages over everyone's data: managers and admins only."""

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not is_manager(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)


class DashboardView(ManagerRequiredMixin, TemplateView):
    template_name = "quality/dashboard.html"

    def get_context_data(self, **kwargs):
        board = selectors.quality_dashboard()
        trend = board.trend if board else []
        return super().get_context_data(
            **kwargs,
            board=board,
            trend_precise=trend_points(trend, "precise", "addresses"),
            trend_verified=trend_points(trend, "overdue", "addresses"),
            trend_days=len(trend),
        )

    def post(self, request):
        quality_snapshot_take()
        messages.success(request, _("Snapshot taken."))
        return redirect("quality:dashboard")


class VerifyListView(LoginRequiredMixin, TemplateView):
    """ "My addresses to verify" (sales) or anyone's (managers), by schedule status."""

    template_name = "quality/verify.html"

    def get_context_data(self, **kwargs):
        params, user = self.request.GET, self.request.user
        status = params.get("status") or "todo"
        try:
            page = max(1, int(params.get("page", 1)))
            owner_id = int(params["owner"]) if params.get("owner") else None
        except ValueError:
            page, owner_id = 1, None
        mine = params.get("mine", "" if is_manager(user) else "1") == "1"
        size = selectors.VERIFY_PAGE
        rows = list(
            selectors.addresses_to_verify(
                user=user, status=status, region_code=params.get("region", ""), owner_id=owner_id, mine=mine,
                offset=(page - 1) * size, limit=size + 1,
            )
        )  # fmt: skip
        for address in rows:
            address.next_due = next_due(address.verified_at, [c.name for c in address.categories.all()])
        query = params.copy()
        query.pop("page", None)
        return super().get_context_data(
            **kwargs,
            addresses=rows[:size],
            status=status,
            statuses=STATUS_CHOICES,
            mine=mine,
            page=page,
            has_next=len(rows) > size,
            query=query.urlencode(),
        )


class AddressConfirmView(LoginRequiredMixin, View):
    def post(self, request, pk):
        address = selectors.address_to_verify_get(user=request.user, pk=pk)
        try:
            address_confirm(address=address, actor=request.user)
        except ValidationError as exc:
            messages.error(
                request,
                _("“%(address)s” cannot be confirmed as it is: %(errors)s Correct it first.")
                % {"address": address.one_line(), "errors": " ".join(exc.messages)},
            )
        else:
            messages.success(
                request, _("Marked as confirmed by phone: %(address)s") % {"address": address.one_line()}
            )
        return redirect(_safe_next(request, "quality:verify"))


def _safe_next(request, default: str):
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return default
