"""The notice letters recorded on a case, for city officials (under /cases/<pk>/notices/):
served by this app, which renders them, since the cases app does not import it."""

from django.urls import path

from . import views

app_name = "case_notices"

urlpatterns = [
    path("<int:pk>/notices/<int:notice_id>.pdf", views.case_notice, name="pdf"),
]
