"""Admin for API tokens and webhooks. Tokens are issued on the API page (the plaintext is shown
once there); the admin lists, filters and revokes them. Endpoint writes call api.services."""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from api.models import ApiToken, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from api.services import (
    token_revoke,
    webhook_endpoint_create,
    webhook_endpoint_delete,
    webhook_endpoint_update,
    webhook_redeliver,
)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "user",
        "scope",
        "prefix",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
    )
    list_filter = ("scope", ("revoked_at", admin.EmptyFieldListFilter))
    search_fields = ("name", "prefix", "user__username")
    readonly_fields = (
        "user",
        "name",
        "prefix",
        "scope",
        "expires_at",
        "last_used_at",
        "revoked_at",
        "created_at",
    )
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False  # issued on the API page, where the plaintext is shown once

    def has_change_permission(self, request, obj=None):
        return False

    @admin.action(description=_("Revoke the selected tokens"))
    def revoke(self, request, queryset):
        for token in queryset:
            token_revoke(token=token, actor=request.user)
        self.message_user(request, _("Tokens revoked."), messages.SUCCESS)


class WebhookAttemptInline(admin.TabularInline):
    model = WebhookAttempt
    extra = 0
    can_delete = False
    readonly_fields = ("attempted_at", "status_code", "latency_ms", "response_excerpt", "error")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ("url", "description", "is_active", "failure_streak", "created_by", "created_at")
    list_filter = ("is_active",)
    search_fields = ("url", "description")
    fields = ("url", "description", "events", "is_active", "failure_streak", "disabled_reason")
    readonly_fields = ("failure_streak", "disabled_reason")

    def save_model(self, request, obj, form, change):
        if change:
            changes = {
                f: form.cleaned_data[f]
                for f in form.changed_data
                if f in ("url", "events", "description", "is_active")
            }
            webhook_endpoint_update(endpoint=obj, actor=request.user, **changes)
        else:
            created = webhook_endpoint_create(
                actor=request.user, url=obj.url, events=obj.events, description=obj.description
            )
            obj.pk = created.pk

    def delete_model(self, request, obj):
        webhook_endpoint_delete(endpoint=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for endpoint in queryset:
            webhook_endpoint_delete(endpoint=endpoint, actor=request.user)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ("message_id", "event", "endpoint", "status", "attempts", "created_at", "delivered_at")
    list_filter = ("status", "event")
    search_fields = ("message_id",)
    list_select_related = ("endpoint",)
    readonly_fields = (
        "endpoint",
        "message_id",
        "event",
        "payload",
        "status",
        "attempts",
        "next_attempt_at",
        "committed_at",
        "first_attempt_at",
        "delivered_at",
        "created_at",
    )
    inlines = [WebhookAttemptInline]
    actions = ["redeliver"]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.action(description=_("Deliver the selected messages again"))
    def redeliver(self, request, queryset):
        for delivery in queryset:
            webhook_redeliver(delivery=delivery, actor=request.user)
        self.message_user(request, _("Deliveries queued again."), messages.SUCCESS)
