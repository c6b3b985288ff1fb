"""Guarding the doors: session expiry after inactivity and login throttling (django-axes).

- `IdleSessionMiddleware`: Django's session middleware, except that an automatic refresh (the
  htmx GET of an element of POLLING, the worklist's every minute) does not push the expiry back: a ward
  computer left on « Sorties du jour » is logged out after LIAISON_SESSION_IDLE_MINUTES like any
  other. An htmx request whose session has expired gets `HX-Redirect` to the login page, so the
  whole screen (patient names included) is replaced, not one fragment.
- `ThrottledBackend`: django-axes' lockout check. A call to `authenticate()` without a request
  (a script, Django's test client) cannot be throttled by address and is left to the next backend;
  every login form of the web app passes its request.
"""

from __future__ import annotations

from axes.backends import AxesStandaloneBackend
from django.conf import settings
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpRequest, HttpResponse
from django.shortcuts import resolve_url

# Elements whose htmx requests are automatic refreshes, not the user's doing (by their id: htmx
# sends it in the HX-Trigger header).
POLLING = {"worklist"}


def is_poll(request: HttpRequest) -> bool:
    return (
        request.method == "GET"
        and request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-Trigger") in POLLING
    )


class IdleSessionMiddleware(SessionMiddleware):
    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        if request.headers.get("HX-Request") and response.status_code == 302:
            login = resolve_url(settings.LOGIN_URL)
            if response.get("Location", "").startswith(login):
                response = HttpResponse(status=204)
                response["HX-Redirect"] = login
        session = getattr(request, "session", None)
        if session is not None and is_poll(request) and not session.modified:
            return response  # an automatic refresh is not activity: the idle delay keeps running
        return super().process_response(request, response)


class ThrottledBackend(AxesStandaloneBackend):
    def authenticate(self, request: HttpRequest | None, username: str | None = None, **kwargs):  # type: ignore[override]
        if request is None:
            return None
        return super().authenticate(request, username=username, **kwargs)
