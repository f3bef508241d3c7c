from django.urls import path

from geo import views

app_name = "geo"

urlpatterns = [
    path("children/", views.region_children_json, name="region_children"),
]
