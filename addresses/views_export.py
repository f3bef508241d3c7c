from django.contrib.auth.decorators import login_required
from django.http import HttpResponseBadRequest, StreamingHttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from addresses import exporting
from customers.filtersets import CustomerFilterSet
from customers.models import Customer


@login_required
@require_GET
def export_customers(request):
    """The customer list's filters (or a selection, `ids`) as CSV, XLSX or GeoJSON, streamed."""
    fmt = request.GET.get("format", "csv")
    if fmt not in exporting.FORMATS:
        return HttpResponseBadRequest("format must be csv, xlsx or geojson")
    filterset = CustomerFilterSet(request.GET, queryset=Customer.objects.visible_to(request.user))
    customers = filterset.qs
    ids = [i for v in request.GET.getlist("ids") for i in v.split(",") if i.strip().isdigit()]
    if ids:
        customers = customers.filter(pk__in=ids)
    name = f"customers-{timezone.localtime():%Y%m%d-%H%M}.{fmt}"
    response = StreamingHttpResponse(
        exporting.export_chunks(customers, fmt), content_type=exporting.CONTENT_TYPES[fmt]
    )
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
