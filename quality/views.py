"""The data-quality pages: likely duplicates side by side, merge and undo."""

import csv

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.generic import TemplateView

from addresses.models import Address
from crm.roles import is_manager
from crm.views import VisibleCustomersMixin
from quality import selectors
from quality.choices import PairStatus
from quality.forms import MergeForm
from quality.policy import link_rate_limit, points_rules, undo_period
from quality.presentation import reason_labels, trend_points
from quality.schedule import next_due
from quality.services import (
    MERGE_FIELDS,
    Answer,
    LinkInvalid,
    address_confirm,
    customer_merge,
    customer_merge_undo,
    pair_dismiss,
    quality_snapshot_take,
    self_service_link_create,
    self_service_link_get,
    self_service_link_revoke,
    self_service_link_send,
    self_service_review_decide,
    self_service_submit,
)

STATUS_CHOICES = [
    ("todo", gettext_lazy("To do")),
    ("unverified", gettext_lazy("Never verified")),
    ("overdue", gettext_lazy("Overdue")),
    ("due", gettext_lazy("Due soon")),
    ("current", gettext_lazy("Verified")),
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


# -- self-service links -------------------------------------------------------------


class LinkCreateView(VisibleCustomersMixin, View):
    """Make a customer's link: shown once to copy (SMS, WeChat), and e-mailed when asked."""

    def post(self, request, pk):
        customer = self.get_customer(pk)
        email = customer.email if request.POST.get("send") == "email" else ""
        link, token = self_service_link_create(customer=customer, actor=request.user, send_to=email)
        url = request.build_absolute_uri(reverse("quality:self_service", args=[token]))
        if email:
            self_service_link_send(link=link, url=url)
            messages.success(request, _("The link was sent to %(email)s.") % {"email": email})
        return render(request, "quality/link_created.html", {"customer": customer, "link": link, "url": url})


class LinkRevokeView(LoginRequiredMixin, View):
    def post(self, request, pk):
        link = selectors.self_service_link_owned(user=request.user, pk=pk)
        self_service_link_revoke(link=link, actor=request.user)
        messages.info(request, _("The link no longer works."))
        return redirect("quality:self_service_review")


class SelfServiceReviewView(LoginRequiredMixin, TemplateView):
    """Customers' answers waiting for review, and the latest links."""

    template_name = "quality/self_service_review.html"

    def get_context_data(self, **kwargs):
        user = self.request.user
        return super().get_context_data(
            **kwargs,
            pending=selectors.self_service_pending(user=user),
            links=selectors.self_service_links_recent(user=user),
            now=timezone.now(),
        )


class SelfServiceDecideView(LoginRequiredMixin, View):
    def post(self, request, pk):
        submission = selectors.self_service_submission_get(user=request.user, pk=pk)
        try:
            self_service_review_decide(
                submission=submission,
                apply=request.POST.get("decision") == "apply",
                actor=request.user,
                raw_text=request.POST.get("raw_text", ""),
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("Decided."))
        return redirect("quality:self_service_review")


def _rate_limited(request) -> bool:
    """More than QUALITY_LINK_RATE requests from one client address in the window."""
    allowed, seconds = link_rate_limit()
    key = "quality:link-rate:" + request.META.get("REMOTE_ADDR", "")
    cache.add(key, 0, seconds)
    try:
        return cache.incr(key) > allowed
    except ValueError:
        return False


class SelfServiceView(View):
    """The customer's page (no login): their addresses to confirm or correct, on a phone."""

    template_name = "quality/self_service.html"

    def dispatch(self, request, *args, **kwargs):
        if _rate_limited(request):
            return render(request, "quality/self_service_invalid.html", {"too_many": True}, status=429)
        return super().dispatch(request, *args, **kwargs)

    def get(self, request, token):
        try:
            link = self_service_link_get(token=token)
        except LinkInvalid:
            return render(request, "quality/self_service_invalid.html", status=404)
        addresses = list(
            Address.objects.filter(customer_id=link.customer_id).select_related(
                "country", "province", "city", "district"
            )
        )
        return render(request, self.template_name, {"link": link, "addresses": addresses})

    def post(self, request, token):
        answers = []
        for key, action in request.POST.items():
            if key.startswith("action_") and key[7:].isdigit() and action in ("confirm", "correct"):
                pk = int(key[7:])
                answers.append(
                    Answer(address_id=pk, action=action, raw_text=request.POST.get(f"text_{pk}", ""))
                )
        try:
            kept = self_service_submit(token=token, answers=answers)
        except LinkInvalid:
            return render(request, "quality/self_service_invalid.html", status=404)
        context = {
            "applied": [s for s in kept if s.status == "applied"],
            "pending": [s for s in kept if s.status == "pending"],
            "points": sum(points_rules().get(s.action, 0) for s in kept if s.status == "applied"),
        }
        return render(request, "quality/self_service_done.html", context)


class PointsView(LoginRequiredMixin, TemplateView):
    """The points ledger: who earned what for keeping their data current; CSV export."""

    template_name = "quality/points.html"

    def get(self, request, *args, **kwargs):
        if request.GET.get("format") == "csv":
            return self._csv(request)
        return super().get(request, *args, **kwargs)

    def _entries(self):
        params = self.request.GET
        customer = params.get("customer", "")
        return selectors.points_ledger(
            user=self.request.user,
            q=params.get("q", ""),
            customer_id=int(customer) if customer.isdigit() else None,
        )

    def get_context_data(self, **kwargs):
        q = self.request.GET.get("q", "")
        return super().get_context_data(
            **kwargs,
            entries=self._entries()[:200],
            totals=selectors.points_totals(user=self.request.user, q=q),
            q=q,
            query=self.request.GET.urlencode(),
        )

    def _csv(self, request):
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="points.csv"'
        response.write("\ufeff")  # Excel reads UTF-8 with a BOM
        writer = csv.writer(response)
        writer.writerow(["time", "customer_id", "customer", "points", "reason", "address_id"])
        for e in self._entries().iterator(chunk_size=2000):
            writer.writerow(
                [
                    e.created_at.isoformat(),
                    e.customer_id,
                    e.customer.name,
                    e.points,
                    e.reason,
                    e.address_id or "",
                ]
            )
        return response


class LookAlikeView(LoginRequiredMixin, TemplateView):
    """The save-time warning as an HTML fragment ("looks like <customer>"), for a customer form to
    fetch as its name, phone or e-mail change (htmx: hx-get with hx-include of those fields)."""

    template_name = "quality/_look_alikes.html"

    def get_context_data(self, **kwargs):
        params = self.request.GET
        exclude = params.get("exclude", "")
        found = []
        if params.get("name", "").strip():
            found = selectors.look_alikes(
                user=self.request.user,
                name=params.get("name", ""),
                phone=params.get("phone", ""),
                email=params.get("email", ""),
                exclude_id=int(exclude) if exclude.isdigit() else None,
            )
        return super().get_context_data(
            **kwargs, found=[(x.customer, x.match.score, reason_labels(x.match.reasons)) for x in found]
        )
