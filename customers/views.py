"""The customer pages: the list (filters, bulk actions), a customer's page, the create and edit
forms, and the region browser. Each reads customers through crm.views.VisibleCustomersMixin."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseBadRequest, HttpResponseRedirect
from django.shortcuts import redirect, render, resolve_url
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views import View
from django.views.generic import TemplateView

from addresses import selectors as address_selectors
from addresses.choices import Channel
from addresses.forms import AddressForm, add_service_errors
from addresses.models import Address, AddressCategory
from addresses.presentation import address_map_points
from addresses.services import FirstAddressInvalid, addresses_categorize, customer_with_address_create
from crm.roles import is_manager
from crm.views import VisibleCustomersMixin
from customers.choices import CustomerKind, RelationshipStage
from customers.filtersets import LOCATED_CHOICES, SORT_CHOICES, invalid_ids, owner_choices
from customers.forms import BulkCategoryForm, BulkOwnerForm, CustomerForm, customer_initial, filter_chips
from customers.presentation import list_rows
from customers.selectors import (
    PAGE_SIZES,
    customer_list,
    region_customer_counts,
    region_visible_total,
)
from customers.services import customer_delete, customer_update, customers_reassign_owner
from customers.signals import customer_viewed
from geo.choices import RegionLevel
from geo.presentation import map_config, map_display_crs, region_label
from geo.selectors import region_chain, region_picker_levels


def _per_page(request) -> int:
    try:
        value = int(request.GET.get("per_page", 50))
    except ValueError:
        return 50
    return value if value in PAGE_SIZES else 50


class CustomerListView(VisibleCustomersMixin, TemplateView):
    template_name = "customers/customer_list.html"
    partial_template_name = "customers/_list_page.html"

    def get(self, request, *args, **kwargs):
        if invalid_ids(request.GET):
            return HttpResponseBadRequest(_("The selection (ids) must be customer numbers."))
        return super().get(request, *args, **kwargs)

    def get_template_names(self):
        if self.request.headers.get("HX-Request") and not self.request.headers.get(
            "HX-History-Restore-Request"
        ):
            return [self.partial_template_name]
        return [self.template_name]

    def get_context_data(self, **kwargs):
        params = self.request.GET
        result = customer_list(
            user=self.request.user,
            params=params,
            per_page=_per_page(self.request),
            page_number=params.get("page"),
        )
        chain = region_chain(code=params.get("region"))
        categories = list(AddressCategory.objects.order_by("name"))
        owners = list(owner_choices())
        filters = result.filterset.form.cleaned_data if result.filterset.is_valid() else {}
        return super().get_context_data(
            **kwargs,
            filterset=result.filterset,
            page_obj=result.page,
            paginator=result.paginator,
            customers=list_rows(result.page.object_list),
            chips=filter_chips(
                result.filterset, params=params, region_chain=chain, categories=categories, owners=owners
            ),
            region_levels=region_picker_levels(chain),
            region_code=params.get("region", ""),
            categories=categories,
            selected_categories={c.pk for c in filters.get("category") or ()},
            owners=owners,
            kinds=CustomerKind.choices,
            stages=RelationshipStage.choices,
            selected_stages=set(filters.get("stage") or ()),
            located_choices=LOCATED_CHOICES,
            sort_choices=SORT_CHOICES,
            page_sizes=PAGE_SIZES,
            per_page=result.paginator.per_page,
            filter_query=_query_without(params, "page"),
            page_range=_page_range(result.paginator, result.page),
        )


def _page_range(paginator, page) -> list:
    """Page numbers around the current one; an estimated count gets no "last page" link."""
    if not paginator.estimated:
        return list(paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1))
    numbers = [n for n in range(page.number - 2, page.number + 3) if 1 <= n <= paginator.num_pages]
    head = [1, paginator.ELLIPSIS] if numbers[0] > 2 else ([1] if numbers[0] == 2 else [])
    return head + numbers + [paginator.ELLIPSIS]


def _query_without(params, *keys) -> str:
    query = params.copy()
    for key in keys:
        query.pop(key, None)
    return query.urlencode()


class BulkActionView(VisibleCustomersMixin, View):
    """POST-only base: validate the form, scope the ids with visible_to, act, go back to the list."""

    form_class = None
    http_method_names = ["post"]

    def post(self, request):
        form = self.form_class(request.POST)
        if not form.is_valid():
            for errors in form.errors.values():
                for error in errors:
                    messages.error(request, error)
            return self.back()
        # Ids the user may not see are dropped here, never acted on.
        ids = list(
            self.visible_customers().filter(pk__in=form.cleaned_data["ids"]).values_list("pk", flat=True)
        )
        self.act(form, ids)
        return self.back()

    def back(self):
        target = self.request.POST.get("next", "")
        if not url_has_allowed_host_and_scheme(target, {self.request.get_host()}, self.request.is_secure()):
            target = resolve_url("customers:list")
        return HttpResponseRedirect(target)


class CustomerBulkCategorizeView(BulkActionView):
    form_class = BulkCategoryForm

    def act(self, form, ids):
        category, mode = form.cleaned_data["category"], form.cleaned_data["mode"]
        address_ids = list(Address.objects.filter(customer_id__in=ids).values_list("pk", flat=True))
        result = addresses_categorize(
            address_ids=address_ids,
            add=[category.pk] if mode == "add" else [],
            remove=[category.pk] if mode == "remove" else [],
            actor=self.request.user,
            channel=Channel.FORM,
        )
        changed = result.updated
        if mode == "add":
            text = ngettext(
                "Category “%(category)s” assigned to the addresses of %(count)d customer (%(changed)d changed).",
                "Category “%(category)s” assigned to the addresses of %(count)d customers (%(changed)d changed).",
                len(ids),
            )
        else:
            text = ngettext(
                "Category “%(category)s” removed from the addresses of %(count)d customer (%(changed)d changed).",
                "Category “%(category)s” removed from the addresses of %(count)d customers (%(changed)d changed).",
                len(ids),
            )
        messages.success(
            self.request, text % {"category": category.name, "count": len(ids), "changed": changed}
        )
        if not address_ids:
            messages.warning(self.request, _("The selected customers have no addresses to categorise."))


class CustomerBulkReassignView(BulkActionView):
    form_class = BulkOwnerForm

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not is_manager(request.user):
            raise PermissionDenied(_("Only managers may reassign customers."))
        return super().dispatch(request, *args, **kwargs)

    def act(self, form, ids):
        owner = form.cleaned_data["owner"]
        changed = customers_reassign_owner(customer_ids=ids, owner=owner, actor=self.request.user)
        messages.success(
            self.request,
            ngettext(
                "%(count)d customer reassigned to %(owner)s.",
                "%(count)d customers reassigned to %(owner)s.",
                changed,
            )
            % {"count": changed, "owner": owner.get_full_name() or owner.username},
        )


class RegionBrowserView(VisibleCustomersMixin, TemplateView):
    """Customer counts per region, drilled down country → province → city → district."""

    template_name = "customers/region_browser.html"
    top_bars = 15

    def get_context_data(self, code=None, **kwargs):
        chain = region_chain(code=code)
        if code and not chain:
            raise Http404(_("No such region."))
        region = chain[-1] if chain else None
        leaf = region is not None and region.level == RegionLevel.DISTRICT
        rows = [] if leaf else region_customer_counts(user=self.request.user, region=region)
        peak = rows[0][1] if rows else 0
        return super().get_context_data(
            **kwargs,
            region=region,
            chain=chain,
            rows=[
                {"region": r, "label": region_label(r), "count": n, "share": (100 * n / peak) if peak else 0}
                for r, n in rows
            ],
            bars=rows[: self.top_bars],
            total=region_visible_total(user=self.request.user, region=region),
            region_label=region_label(region) if region else "",
        )


class CustomerDetailView(VisibleCustomersMixin, View):
    template_name = "customers/customer_detail.html"

    def get(self, request, pk):
        customer = self.get_customer(pk)
        addresses = address_selectors.customer_addresses(customer=customer)
        customer_viewed.send(
            sender=type(customer), customer_id=customer.pk, user=request.user, request=request
        )
        return render(
            request,
            self.template_name,
            {
                "customer": customer,
                "addresses": addresses,
                "map_points": address_map_points(addresses),
                "map_config": map_config(),
                "history": address_selectors.customer_history_with_trash(customer=customer),
                "history_limit": address_selectors.HISTORY_LIMIT,
                "all_categories": list(AddressCategory.objects.order_by("name")),
            },
        )


class CustomerCreateView(LoginRequiredMixin, View):
    template_name = "customers/customer_form.html"

    def get(self, request):
        return self._render(
            CustomerForm(can_assign_owner=is_manager(request.user), initial={"owner": request.user.pk}),
            AddressForm(prefix="address", initial={"is_primary": True}),
        )

    def post(self, request):
        form = CustomerForm(request.POST, can_assign_owner=is_manager(request.user))
        address_form = AddressForm(request.POST, prefix="address")
        if not (form.is_valid() & address_form.is_valid()):
            return self._render(form, address_form)
        fields = dict(form.cleaned_data)
        if not is_manager(request.user):
            fields["owner"] = request.user  # sales users own what they create
        address = None if address_form.is_empty() else address_form.service_fields(crs=map_display_crs())
        try:
            customer = customer_with_address_create(
                customer_fields=fields, address_fields=address, actor=request.user, channel=Channel.FORM
            )
        except FirstAddressInvalid as exc:
            address_form.add_service_errors(exc)
            return self._render(form, address_form)
        except ValidationError as exc:
            add_service_errors(form, exc)
            return self._render(form, address_form)
        messages.success(request, _("Customer “%(name)s” created.") % {"name": customer.name})
        return redirect(customer)

    def _render(self, form, address_form, status=200):
        return render(
            self.request,
            self.template_name,
            {"form": form, "address_form": address_form, "customer": None, "map_config": map_config()},
            status=status,
        )


class CustomerEditView(VisibleCustomersMixin, View):
    template_name = "customers/customer_form.html"

    def get(self, request, pk):
        customer = self.get_customer(pk)
        form = CustomerForm(initial=customer_initial(customer), can_assign_owner=is_manager(request.user))
        return self._render(customer, form)

    def post(self, request, pk):
        customer = self.get_customer(pk)
        form = CustomerForm(request.POST, can_assign_owner=is_manager(request.user))
        if form.is_valid():
            try:
                customer_update(customer=customer, actor=request.user, **form.cleaned_data)
            except ValidationError as exc:
                add_service_errors(form, exc)
                customer = self.get_customer(pk)  # undo the failed in-memory changes
            else:
                messages.success(request, _("Customer saved."))
                return redirect(customer)
        return self._render(customer, form)

    def _render(self, customer, form, status=200):
        return render(
            self.request,
            self.template_name,
            {"form": form, "customer": customer, "address_form": None, "map_config": map_config()},
            status=status,
        )


class CustomerDeleteView(VisibleCustomersMixin, View):
    """A manager moves a customer (with its addresses) to the trash, after a confirmation."""

    template_name = "customers/customer_confirm_delete.html"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not is_manager(request.user):
            raise PermissionDenied(_("Only managers can delete customers and addresses."))
        return super().dispatch(request, *args, **kwargs)

    def get(self, request, pk):
        customer = self.get_customer(pk)
        return render(
            request,
            self.template_name,
            {
                "customer": customer,
                "addresses": address_selectors.customer_addresses(customer=customer),
                "trash_days": settings.TRASH_DAYS,
            },
        )

    def post(self, request, pk):
        customer = self.get_customer(pk)
        customer_delete(customer=customer, actor=request.user)
        messages.success(
            request,
            _("“%(name)s” moved to the trash: a manager can restore it within %(days)d days.")
            % {"name": customer.name, "days": settings.TRASH_DAYS},
        )
        return redirect("customers:list")
