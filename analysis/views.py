"""Pages of the analysis app: the customer page's 360 section's forms (contacts, activities),
my follow-ups, visit check-in, and the analysis pages (revenue, won and lost, segments, churn
risk) by region. Every read goes through analysis/selectors.py (visible_to)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import TemplateView

from analysis import selectors
from analysis.charts import bar_chart, line_chart
from analysis.forms import ActivityForm, CheckInForm, ContactForm
from analysis.services import activity_create, contact_create, contact_delete, follow_up_done, visit_check_in
from crm.views import VisibleCustomersMixin
from geo.presentation import region_label
from geo.selectors import region_chain


def _service_errors(request, exc: ValidationError) -> None:
    for error in exc.messages:
        messages.error(request, error)


def _form_errors(request, form) -> None:
    for name, errors in form.errors.items():
        label = form.fields[name].label if name in form.fields else ""
        for error in errors:
            messages.error(request, f"{label}: {error}" if label else error)


def _back_to_customer(customer, anchor: str):
    return redirect(f"{customer.get_absolute_url()}#{anchor}")


class ContactCreateView(VisibleCustomersMixin, View):
    http_method_names = ["post"]

    def post(self, request, pk):
        customer = self.get_customer(pk)
        form = ContactForm(request.POST)
        if not form.is_valid():
            _form_errors(request, form)
            return _back_to_customer(customer, "contacts-section")
        try:
            contact = contact_create(customer=customer, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _service_errors(request, exc)
        else:
            messages.success(request, _("Contact “%(name)s” added.") % {"name": contact.name})
        return _back_to_customer(customer, "contacts-section")


class ContactDeleteView(VisibleCustomersMixin, View):
    http_method_names = ["post"]

    def post(self, request, pk):
        contact = selectors.visible_contact(user=request.user, pk=pk)
        contact_delete(contact=contact, actor=request.user)
        messages.success(request, _("Contact “%(name)s” removed.") % {"name": contact.name})
        return _back_to_customer(contact.customer, "contacts-section")


class ActivityCreateView(VisibleCustomersMixin, View):
    http_method_names = ["post"]

    def post(self, request, pk):
        data = selectors.customer_360(user=request.user, pk=pk)
        form = ActivityForm(request.POST, contacts=data.contacts)
        if not form.is_valid():
            _form_errors(request, form)
            return _back_to_customer(data.customer, "activities-section")
        try:
            activity_create(customer=data.customer, actor=request.user, **form.service_fields())
        except ValidationError as exc:
            _service_errors(request, exc)
        else:
            messages.success(request, _("Activity logged."))
        return _back_to_customer(data.customer, "activities-section")


class FollowUpsView(VisibleCustomersMixin, TemplateView):
    template_name = "analysis/follow_ups.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(**kwargs, follow_ups=selectors.follow_ups(user=self.request.user))


class FollowUpDoneView(VisibleCustomersMixin, View):
    http_method_names = ["post"]

    def post(self, request, pk):
        activity = selectors.visible_activity(user=request.user, pk=pk)
        follow_up_done(activity=activity, actor=request.user)
        messages.success(request, _("Follow-up “%(subject)s” done.") % {"subject": activity.subject})
        target = request.POST.get("next")
        if target == "customer":
            return _back_to_customer(activity.customer, "activities-section")
        return redirect("analysis:follow_ups")


class CheckInView(VisibleCustomersMixin, View):
    """A visit logged from the map's route panel: JSON in, JSON out (the panel stays open)."""

    http_method_names = ["post"]

    def post(self, request):
        form = CheckInForm(request.POST)
        if not form.is_valid():
            return JsonResponse({"ok": False, "errors": form.errors}, status=400)
        customer = self.get_customer(self._customer_id(form.cleaned_data))
        lat, lng = form.cleaned_data["lat"], form.cleaned_data["lng"]
        if (lat is None) != (lng is None):
            return JsonResponse({"ok": False, "errors": {"lat": [_("Give both or neither.")]}}, status=400)
        activity = visit_check_in(
            customer=customer, actor=request.user, lat=lat, lng=lng, note=form.cleaned_data["note"]
        )
        return JsonResponse(
            {
                "ok": True,
                "id": activity.pk,
                "message": _("Visit to %(name)s logged.") % {"name": customer.name},
                "located": lat is not None,
            }
        )

    def _customer_id(self, data) -> int:
        """The customer named, or the one whose address (a route stop) is named; 404 for neither."""
        if data["customer"]:
            return data["customer"]
        customer_id = selectors.address_customer_id(address_id=data["address"]) if data["address"] else None
        if customer_id is None:
            raise Http404
        return customer_id


# --- analysis pages ------------------------------------------------------------------------------


class AnalysisPageMixin(VisibleCustomersMixin):
    """The region drilled into (`code`, 404 if unknown) and the list's filters in the query."""

    def region(self):
        code = self.kwargs.get("code")
        chain = region_chain(code=code)
        if code and not chain:
            raise Http404(_("No such region."))
        return chain

    def common_context(self, chain):
        params = self.request.GET.copy()
        return {
            "chain": chain,
            "region": chain[-1] if chain else None,
            "region_label": region_label(chain[-1]) if chain else "",
            "query": params.urlencode(),
            "days": params.get("days", ""),
            "has_orders": selectors.has_orders_in(user=self.request.user),
        }


class RevenueView(AnalysisPageMixin, TemplateView):
    template_name = "analysis/revenue.html"

    def get_context_data(self, **kwargs):
        chain = self.region()
        region = chain[-1] if chain else None
        breakdown = selectors.region_revenue(user=self.request.user, params=self.request.GET, region=region)
        leaf = region is not None and region.level == "district"
        chart = bar_chart(
            [(region_label(f.region), f.revenue) for f in breakdown.rows[:15]],
            links=None
            if leaf
            else [reverse("analysis:revenue", args=[f.region.code]) for f in breakdown.rows[:15]],
        )
        return super().get_context_data(
            **kwargs, **self.common_context(chain), breakdown=breakdown, chart=chart, leaf=leaf
        )


class WonLostView(AnalysisPageMixin, TemplateView):
    template_name = "analysis/won_lost.html"

    def get_context_data(self, **kwargs):
        chain = self.region()
        region = chain[-1] if chain else None
        breakdown = selectors.region_won_lost(user=self.request.user, params=self.request.GET, region=region)
        top = breakdown.rows[:15]
        return super().get_context_data(
            **kwargs,
            **self.common_context(chain),
            breakdown=breakdown,
            won_chart=bar_chart([(region_label(f.region), f.won) for f in top], money=False, tone="success"),
            lost_chart=bar_chart(
                [(region_label(f.region), f.at_risk + f.lost) for f in top], money=False, tone="danger"
            ),
            leaf=region is not None and region.level == "district",
        )


class SegmentsView(AnalysisPageMixin, TemplateView):
    template_name = "analysis/segments.html"

    def get_context_data(self, **kwargs):
        sizes = selectors.segment_sizes(user=self.request.user, params=self.request.GET)
        return super().get_context_data(
            **kwargs,
            **self.common_context([]),
            sizes=sizes,
            size_chart=bar_chart([(s.label, s.customers) for s in sizes], money=False),
            revenue_chart=bar_chart([(s.label, s.revenue) for s in sizes]),
        )


class ChurnRiskView(AnalysisPageMixin, TemplateView):
    template_name = "analysis/churn_risk.html"

    def get_context_data(self, **kwargs):
        params = self.request.GET
        trend = selectors.at_risk_monthly(user=self.request.user, params=params)
        return super().get_context_data(
            **kwargs,
            **self.common_context([]),
            scores=selectors.churn_risk_customers(user=self.request.user, params=params),
            owners=selectors.churn_risk_by_owner(user=self.request.user, params=params),
            trend_chart=line_chart([(month.strftime("%Y-%m"), value) for month, value in trend]),
        )
