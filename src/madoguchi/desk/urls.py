from django.urls import path

from . import views

app_name = "desk"
urlpatterns = [
    path("", views.terminal, name="terminal"),
    path("ended/", views.ended, name="ended"),
    path("ended/receipt/", views.ended_receipt, name="ended_receipt"),
    path("ended/checklist/", views.ended_checklist, name="ended_checklist"),
    path("visit/", views.visit, name="visit"),
    path("visit/procedures/<slug:kind>/", views.procedure, name="procedure"),
    path("visit/procedures/<int:pk>/discard/", views.discard, name="discard"),
    path("visit/checklist/", views.checklist, name="checklist"),
    path("visit/confirm/", views.confirm, name="confirm"),
    path("visit/receipt/", views.receipt, name="receipt"),
    path("visit/end/", views.end, name="end"),
]
