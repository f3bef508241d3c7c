"""The customer page and the customer forms (create with an optional first address, edit)."""

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.db import transaction
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views import View

from addresses import selectors
from addresses.choices import Channel
from addresses.forms import AddressForm, add_service_errors
from addresses.models import AddressCategory
from addresses.services import address_create
from addresses.views import map_config
from crm.roles import is_manager
from customers.forms_edit import CustomerForm, customer_initial
from customers.services import customer_create, customer_update


class CustomerDetailView(LoginRequiredMixin, View):
    template_name = "customers/customer_detail.html"

    def get(self, request, pk):
        customer = selectors.customer_get(user=request.user, pk=pk)
        addresses = selectors.customer_addresses(customer=customer)
        return render(
            request,
            self.template_name,
            {
                "customer": customer,
                "addresses": addresses,
                "map_points": selectors.address_map_points(addresses),
                "map_config": map_config(),
                "history": selectors.customer_history(customer=customer),
                "history_limit": selectors.HISTORY_LIMIT,
                "all_categories": list(AddressCategory.objects.order_by("name")),
            },
        )


class _AddressFailed(Exception):
    """Leaves the transaction so the customer created with a bad address is rolled back."""


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
        try:
            # Customer and first address are one unit: a bad address creates neither.
            with transaction.atomic():
                customer = customer_create(actor=request.user, **fields)
                if not address_form.is_empty():
                    try:
                        address_create(
                            customer=customer,
                            actor=request.user,
                            channel=Channel.FORM,
                            **address_form.service_fields(crs=selectors.map_display_crs()),
                        )
                    except ValidationError as exc:
                        address_form.add_service_errors(exc)
                        raise _AddressFailed from exc
        except _AddressFailed:
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


class CustomerEditView(LoginRequiredMixin, View):
    template_name = "customers/customer_form.html"

    def get(self, request, pk):
        customer = selectors.customer_get(user=request.user, pk=pk)
        form = CustomerForm(initial=customer_initial(customer), can_assign_owner=is_manager(request.user))
        return self._render(customer, form)

    def post(self, request, pk):
        customer = selectors.customer_get(user=request.user, pk=pk)
        form = CustomerForm(request.POST, can_assign_owner=is_manager(request.user))
        if form.is_valid():
            try:
                customer_update(customer=customer, actor=request.user, **form.cleaned_data)
            except ValidationError as exc:
                add_service_errors(form, exc)
                customer = selectors.customer_get(
                    user=request.user, pk=pk
                )  # undo the failed in-memory changes
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
