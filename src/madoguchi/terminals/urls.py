from django.urls import path

from . import views

app_name = "terminals"
urlpatterns = [path("enrol/", views.enrol, name="enrol")]
