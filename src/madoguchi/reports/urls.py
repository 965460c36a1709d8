from django.urls import path

from . import views

app_name = "reports"
urlpatterns = [
    path("", views.index, name="index"),
    path("city/", views.city, name="city"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("<int:terminal_id>/<str:day>/", views.daily, name="daily"),
    path("<int:terminal_id>/<str:day>/pdf", views.daily_pdf, name="daily_pdf"),
    path("<int:terminal_id>/<str:day>/xlsx", views.daily_xlsx, name="daily_xlsx"),
]
