from django.urls import path

from . import views

app_name = "benefits"

urlpatterns = [
    path("receipts/<int:completion_id>.pdf", views.receipt, name="receipt"),
]
