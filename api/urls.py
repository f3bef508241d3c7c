from django.urls import path

from api.views import pages
from api.views.v1 import api

urlpatterns = [
    path("v1/", api.urls),
    path("tokens/", pages.tokens, name="api_tokens"),
    path("tokens/<int:pk>/revoke/", pages.token_revoke_view, name="api_token_revoke"),
    path("webhooks/", pages.webhooks, name="api_webhooks"),
    path("webhooks/<int:pk>/", pages.webhook_detail, name="api_webhook"),
    path("webhooks/<int:pk>/<slug:action>/", pages.webhook_action, name="api_webhook_action"),
    path("webhooks/deliveries/<int:pk>/redeliver/", pages.delivery_redeliver, name="api_delivery_redeliver"),
]
