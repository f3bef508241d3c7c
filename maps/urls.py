from django.urls import path

from maps import views

app_name = "map"

urlpatterns = [
    path("", views.map_page, name="page"),
    path("clusters/", views.clusters, name="clusters"),
    path("nearby/", views.nearby, name="nearby"),
    path("here/", views.here, name="here"),
    path("select/", views.select, name="select"),
    path("route/", views.route, name="route"),
    path("route.csv", views.route_csv, name="route_csv"),
]
