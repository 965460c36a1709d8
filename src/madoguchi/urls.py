from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/", include("madoguchi.accounts.urls")),
    path("terminal/", include("madoguchi.terminals.urls")),
    path("", include("madoguchi.core.urls")),
]
