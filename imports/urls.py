from django.urls import path

from imports import views

app_name = "imports"

urlpatterns = [
    path("", views.import_upload, name="upload"),
    path("template/", views.import_template, name="template"),
    path("columns/<str:token>/", views.import_columns, name="columns"),
    path("<int:pk>/", views.import_job, name="job"),
    path("<int:pk>/report/", views.import_report, name="report"),
    path("export/", views.export_customers, name="export"),
]
