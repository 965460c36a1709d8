from django.contrib import admin
from django.urls import include, path

from madoguchi.api import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/", include("madoguchi.accounts.urls")),
    path("terminal/", include("madoguchi.terminals.urls")),
    path("desk/", include("madoguchi.desk.urls")),
    path("officials/", include("madoguchi.officials.urls")),
    path("incidents/", include("madoguchi.incidents.urls")),
    path("reports/", include("madoguchi.reports.urls")),
    path("cases/", include("madoguchi.cases.urls")),
    path("cases/", include("madoguchi.residents.case_urls")),
    path("scans/", include("madoguchi.scans.urls")),
    path("benefits/", include("madoguchi.benefits.urls")),
    path("me/", include("madoguchi.residents.urls")),
    path("", include("madoguchi.core.urls")),
]

# Uncaught exceptions: 503 (database unreachable) or 500, as a refusal body or a page.
handler500 = "madoguchi.core.views.server_error"
# Refused requests: a Japanese page for people, the refusal body for the API.
handler400 = "madoguchi.core.views.bad_request"
handler403 = "madoguchi.core.views.forbidden"
handler404 = "madoguchi.core.views.not_found"
