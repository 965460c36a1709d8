from django.urls import path

from . import views

app_name = "officials"
urlpatterns = [
    path("", views.today, name="today"),
    path("visits/<uuid:public_id>/", views.visit_detail, name="visit"),
    path("incidents/", views.incidents, name="incidents"),
]
