"""The customer page's hook: `{% customer_360 customer %}` draws contacts, timeline and orders."""

from django import template

from analysis.forms import ActivityForm, ContactForm
from analysis.selectors import ORDERS_SHOWN, TIMELINE_LIMIT, customer_360

register = template.Library()


@register.inclusion_tag("analysis/_customer_360.html", takes_context=True)
def customer_360_section(context, customer):
    request = context["request"]
    data = customer_360(user=request.user, pk=customer.pk)
    return {
        "request": request,
        "csrf_token": context.get("csrf_token"),
        "data": data,
        "customer": data.customer,
        "contact_form": ContactForm(),
        "activity_form": ActivityForm(contacts=data.contacts, initial={"assignee": request.user.pk}),
        "orders_shown": ORDERS_SHOWN,
        "timeline_limit": TIMELINE_LIMIT,
    }
