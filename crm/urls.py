from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView

from crm.health import healthz

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="customers:list", permanent=False), name="home"),
    path("customers/", include("customers.urls")),
    path("addresses/", include("addresses.urls")),
    path("map/", include("maps.urls")),
    path("regions/", include("geo.urls")),
    path("imports/", include("imports.urls")),
    path("quality/", include("quality.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("api/", include("api.urls")),
    path("trust/", include("trust.urls")),
]
urlpatterns += [path("analysis/", include("analysis.urls"))]
