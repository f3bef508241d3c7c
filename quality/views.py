"""The data-quality pages: likely duplicates side by side, merge and undo."""

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import TemplateView

from quality import selectors
from quality.choices import PairStatus
from quality.forms import MergeForm
from quality.policy import undo_period
from quality.presentation import reason_labels
from quality.services import MERGE_FIELDS, customer_merge, customer_merge_undo, pair_dismiss


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
