"""View mixins every page uses: the access rule applied once (NetBox's restrict(), applied by a mixin)."""

from django.contrib.auth.mixins import LoginRequiredMixin

from customers.models import Customer
from customers.selectors import customer_get


class VisibleCustomersMixin(LoginRequiredMixin):
    """A page over the customers its user may see (Customer.objects.visible_to): every customer
    read starts from `visible_customers()`, and `get_customer()` answers 404 for any other."""

    def visible_customers(self):
        return Customer.objects.visible_to(self.request.user)

    def get_customer(self, pk: int | None = None) -> Customer:
        return customer_get(user=self.request.user, pk=self.kwargs["pk"] if pk is None else pk)
