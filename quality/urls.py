from django.urls import path

from quality import views

app_name = "quality"

urlpatterns = [
    path("", views.DashboardView.as_view(), name="dashboard"),
    path("duplicates/", views.DuplicateListView.as_view(), name="duplicates"),
    path("duplicates/<int:pk>/", views.DuplicatePairView.as_view(), name="pair"),
    path("duplicates/<int:pk>/dismiss/", views.DuplicateDismissView.as_view(), name="dismiss"),
    path("merges/<int:pk>/undo/", views.MergeUndoView.as_view(), name="undo"),
    path("verify/", views.VerifyListView.as_view(), name="verify"),
    path("verify/<int:pk>/confirm/", views.AddressConfirmView.as_view(), name="confirm"),
]
