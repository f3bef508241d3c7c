from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_POST

from crm.roles import is_manager
from customers.selectors import customer_get
from trust.choices import AuditAction
from trust.services import audit_record
from trust.subject_access import subject_export_zip


@login_required
@require_POST
def subject_export(request, pk):
    """A customer's personal data as a zip, for a manager answering the customer's request (audited)."""
    if not is_manager(request.user):
        raise PermissionDenied
    customer = customer_get(user=request.user, pk=pk)
    audit_record(
        actor=request.user, action=AuditAction.SUBJECT_EXPORT, customer_id=customer.pk, request=request
    )
    response = HttpResponse(subject_export_zip(customer=customer), content_type="application/zip")
    response["Content-Disposition"] = (
        f'attachment; filename="customer-{customer.pk}-{timezone.localdate():%Y%m%d}.zip"'
    )
    return response
