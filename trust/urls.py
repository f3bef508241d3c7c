from django.urls import path

from trust import views

app_name = "trust"

urlpatterns = [
    path("customers/<int:pk>/personal-data/", views.subject_export, name="subject_export"),
]
