from django.urls import path

from customers import views

app_name = "customers"

urlpatterns = [
    path("", views.CustomerListView.as_view(), name="list"),
    path("new/", views.CustomerCreateView.as_view(), name="create"),
    path("<int:pk>/", views.CustomerDetailView.as_view(), name="detail"),
    path("<int:pk>/edit/", views.CustomerEditView.as_view(), name="edit"),
    path("<int:pk>/delete/", views.CustomerDeleteView.as_view(), name="delete"),
    path("bulk/categorize/", views.CustomerBulkCategorizeView.as_view(), name="bulk_categorize"),
    path("bulk/reassign/", views.CustomerBulkReassignView.as_view(), name="bulk_reassign"),
    path("regions/", views.RegionBrowserView.as_view(), name="regions"),
    path("regions/<str:code>/", views.RegionBrowserView.as_view(), name="regions"),
]
