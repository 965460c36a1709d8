from django.conf import settings
from django.urls import path

from . import views

app_name = "core"
urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
]

if settings.MADOGUCHI_BENCH:  # `madoguchi bench completion` only
    from .bench import server as bench_server

    urlpatterns += [
        path("bench/floor", bench_server.floor, name="bench-floor"),
        path("bench/stats", bench_server.stats, name="bench-stats"),
    ]
