from django.urls import path

from addresses import map_views

app_name = "map"

urlpatterns = [
    path("", map_views.map_page, name="page"),
    path("clusters/", map_views.clusters, name="clusters"),
    path("nearby/", map_views.nearby, name="nearby"),
    path("select/", map_views.select, name="select"),
    path("route/", map_views.route, name="route"),
    path("route.csv", map_views.route_csv, name="route_csv"),
]
