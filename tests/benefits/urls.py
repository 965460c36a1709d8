"""The project's URLs plus benefits' (until the project urls include them)."""

from django.urls import include, path

from madoguchi.urls import urlpatterns as project

urlpatterns = [*project, path("benefits/", include("madoguchi.benefits.urls"))]
