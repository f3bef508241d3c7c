from django.urls import path

from addresses import views

app_name = "addresses"

urlpatterns = [
    path("new/<int:customer_pk>/", views.AddressCreateView.as_view(), name="create"),
    path("<int:pk>/edit/", views.AddressEditView.as_view(), name="edit"),
    path("<int:pk>/delete/", views.address_delete_view, name="delete"),
    path("trash/", views.trash_list, name="trash"),
    path("trash/<int:pk>/restore/", views.trash_restore, name="trash_restore"),
    path("<int:pk>/categories/", views.address_categorize, name="categorize"),
    path("parse/", views.address_parse, name="parse"),
    path("categories/", views.category_list, name="category_list"),
    path("categories/new/", views.category_create_view, name="category_create"),
    path("categories/<int:pk>/edit/", views.category_edit_view, name="category_edit"),
    path("categories/<int:pk>/delete/", views.category_delete_view, name="category_delete"),
]
