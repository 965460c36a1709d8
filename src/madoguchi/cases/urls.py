from django.urls import path

from . import views

app_name = "cases"
urlpatterns = [
    path("", views.case_list, name="list"),
    path("new/", views.case_new, name="new"),
    path("<int:pk>/", views.case_detail, name="detail"),
    path("<int:pk>/step/<str:step>/", views.case_step, name="step"),
    path("<int:pk>/legacy-link/", views.case_legacy_link, name="legacy_link"),
    path("<int:pk>/report/", views.case_report, name="report"),
    path("<int:pk>/report.md", views.case_report_md, name="report_md"),
    path("<int:pk>/report.pdf", views.case_report_pdf, name="report_pdf"),
]
