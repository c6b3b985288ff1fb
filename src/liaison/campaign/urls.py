"""URLs of the campaign side, mounted under /campagne/."""

from django.urls import path  # noqa: F401

app_name = "campaign"
urlpatterns: list = []
