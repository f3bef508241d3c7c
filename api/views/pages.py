"""Pages for managing API tokens (every user: their own; managers: their team's too) and
webhook endpoints with their delivery log (managers)."""

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from api.forms import TokenForm, WebhookEndpointForm
from api.models import WebhookDelivery
from api.selectors import tokens_visible_to, webhook_delivery_log, webhook_endpoint_get, webhook_endpoints
from api.services import (
    token_create,
    token_revoke,
    webhook_endpoint_create,
    webhook_endpoint_delete,
    webhook_endpoint_rotate_secret,
    webhook_endpoint_update,
    webhook_redeliver,
)
from crm.roles import is_manager


@login_required
def tokens(request):
    """List the tokens the user may see and issue a new one (its secret shown once, here)."""
    issued = None
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        days = form.cleaned_data["expires_in"]
        expires_at = timezone.now() + timedelta(days=int(days)) if days else None
        issued = token_create(
            user=request.user,
            name=form.cleaned_data["name"],
            scope=form.cleaned_data["scope"],
            expires_at=expires_at,
        )
        form = TokenForm()
    rows = list(tokens_visible_to(user=request.user).order_by("revoked_at", "-created_at")[:500])
    return render(
        request,
        "api/tokens.html",
        {"form": form, "issued": issued, "tokens": rows, "now": timezone.now()},
        status=201 if issued else 200,
    )


@login_required
@require_POST
def token_revoke_view(request, pk: int):
    token = get_object_or_404(tokens_visible_to(user=request.user), pk=pk)
    token_revoke(token=token, actor=request.user)
    messages.success(request, _("Token “%(name)s” revoked.") % {"name": token.name})
    return redirect("api_tokens")


def _manager(request):
    if not request.user.is_authenticated or not is_manager(request.user):
        raise PermissionDenied


@login_required
def webhooks(request):
    """Endpoints and a form to register one (managers)."""
    _manager(request)
    form = WebhookEndpointForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            endpoint = webhook_endpoint_create(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                for error in errors:
                    form.add_error(field if field in form.fields else None, error)
        else:
            messages.success(request, _("Webhook endpoint added. Copy its signing secret below."))
            return redirect("api_webhook", pk=endpoint.pk)
    return render(
        request, "api/webhooks.html", {"form": form, "endpoints": list(webhook_endpoints(user=request.user))}
    )


@login_required
def webhook_detail(request, pk: int):
    """One endpoint: its secret, events and delivery log."""
    _manager(request)
    endpoint = webhook_endpoint_get(user=request.user, pk=pk)
    return render(
        request,
        "api/webhook_detail.html",
        {"endpoint": endpoint, "deliveries": webhook_delivery_log(endpoint=endpoint)},
    )


@login_required
@require_POST
def webhook_action(request, pk: int, action: str):
    _manager(request)
    endpoint = webhook_endpoint_get(user=request.user, pk=pk)
    if action == "enable":
        webhook_endpoint_update(endpoint=endpoint, actor=request.user, is_active=True)
        messages.success(request, _("Endpoint enabled."))
    elif action == "disable":
        webhook_endpoint_update(endpoint=endpoint, actor=request.user, is_active=False)
        messages.success(request, _("Endpoint disabled."))
    elif action == "rotate":
        webhook_endpoint_rotate_secret(endpoint=endpoint, actor=request.user)
        messages.success(request, _("New signing secret made; the old one no longer signs."))
    elif action == "delete":
        webhook_endpoint_delete(endpoint=endpoint, actor=request.user)
        messages.success(request, _("Endpoint deleted."))
        return redirect("api_webhooks")
    else:
        raise Http404
    return redirect("api_webhook", pk=pk)


@login_required
@require_POST
def delivery_redeliver(request, pk: int):
    _manager(request)
    delivery = get_object_or_404(WebhookDelivery.objects.select_related("endpoint"), pk=pk)
    webhook_redeliver(delivery=delivery, actor=request.user)
    messages.success(request, _("Message %(id)s queued again.") % {"id": delivery.message_id})
    return redirect("api_webhook", pk=delivery.endpoint_id)
