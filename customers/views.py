from django.contrib.auth.mixins import LoginRequiredMixin
from django.views.generic import DetailView, ListView

from customers.filtersets import CustomerFilterSet
from customers.models import Customer


class CustomerListView(LoginRequiredMixin, ListView):
    template_name = "customers/customer_list.html"
    paginate_by = 50

    def get_queryset(self):
        self.filterset = CustomerFilterSet(self.request.GET, queryset=Customer.objects.visible_to(self.request.user))
        return self.filterset.qs.select_related("owner")


class CustomerDetailView(LoginRequiredMixin, DetailView):
    template_name = "customers/customer_detail.html"

    def get_queryset(self):
        return Customer.objects.visible_to(self.request.user)
