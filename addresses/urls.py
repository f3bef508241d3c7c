from django.urls import path

app_name = "addresses"

urlpatterns = []
