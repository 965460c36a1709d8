from django.urls import path

from . import views

app_name = "scans"
urlpatterns = [
    path("", views.run_list, name="list"),
    path("<int:pk>/", views.run_detail, name="run"),
    path("<int:pk>/report.html", views.run_report_html, name="run_report_html"),
    path("<int:pk>/report.pdf", views.run_report_pdf, name="run_report_pdf"),
    path("findings/<int:pk>/", views.finding_detail, name="finding"),
    path("findings/<int:pk>/open-case/", views.finding_open_case, name="finding_open_case"),
]
