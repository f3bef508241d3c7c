from django.urls import path

from analysis import views

app_name = "analysis"

urlpatterns = [
    path("", views.RevenueView.as_view(), name="revenue"),
    path("region/<str:code>/", views.RevenueView.as_view(), name="revenue"),
    path("won-lost/", views.WonLostView.as_view(), name="won_lost"),
    path("won-lost/<str:code>/", views.WonLostView.as_view(), name="won_lost"),
    path("segments/", views.SegmentsView.as_view(), name="segments"),
    path("churn-risk/", views.ChurnRiskView.as_view(), name="churn_risk"),
    path("follow-ups/", views.FollowUpsView.as_view(), name="follow_ups"),
    path("follow-ups/<int:pk>/done/", views.FollowUpDoneView.as_view(), name="follow_up_done"),
    path("customers/<int:pk>/contacts/", views.ContactCreateView.as_view(), name="contact_create"),
    path("contacts/<int:pk>/delete/", views.ContactDeleteView.as_view(), name="contact_delete"),
    path("customers/<int:pk>/activities/", views.ActivityCreateView.as_view(), name="activity_create"),
    path("check-in/", views.CheckInView.as_view(), name="check_in"),
]
