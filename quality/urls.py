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
    path("links/new/<int:pk>/", views.LinkCreateView.as_view(), name="link_create"),
    path("links/<int:pk>/revoke/", views.LinkRevokeView.as_view(), name="link_revoke"),
    path("self-service/", views.SelfServiceReviewView.as_view(), name="self_service_review"),
    path("self-service/<int:pk>/decide/", views.SelfServiceDecideView.as_view(), name="self_service_decide"),
    path("s/<str:token>/", views.SelfServiceView.as_view(), name="self_service"),
    path("points/", views.PointsView.as_view(), name="points"),
    path("look-alikes/", views.LookAlikeView.as_view(), name="look_alikes"),
]
