"""Test URL map: the web app's URLs plus the indicators mounted under /indicateurs/."""

from django.urls import include, path

from liaison.web.urls import urlpatterns as web_urlpatterns

urlpatterns = [path("indicateurs/", include("liaison.indicators.urls")), *web_urlpatterns]
