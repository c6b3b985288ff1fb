"""Refused accesses leave a trace: every 403 answer writes an `AuditEvent` (action « refused »).

A middleware rather than a line in each view, so that nothing that refuses can forget it: a
view's `PermissionDenied`, a rule of `liaison.letters.permissions` turned into 403 by the API,
the admin's own refusals and CSRF failures. The trace names the URL, the method, the reason
given to the user and, when the URL names a stay or a letter, its patient.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from liaison.letters.models import AuditEvent, Letter, Stay
from liaison.letters.permissions import role_of


def _reason(request: HttpRequest, response: HttpResponse) -> str:
    reason = getattr(request, "_liaison_refusal", "")
    if not reason and response.get("Content-Type", "").startswith("application/json"):
        try:
            reason = str(json.loads(response.content).get("detail", ""))
        except (ValueError, AttributeError):
            reason = ""
    return reason or "accès refusé"


def _patient_id(request: HttpRequest) -> int | None:
    kwargs = request.resolver_match.kwargs if request.resolver_match else {}
    if isinstance(kwargs.get("stay_id"), int):
        return Stay.objects.filter(pk=kwargs["stay_id"]).values_list("patient_id", flat=True).first()
    if isinstance(kwargs.get("letter_id"), int):
        return (
            Letter.objects.filter(pk=kwargs["letter_id"]).values_list("stay__patient_id", flat=True).first()
        )
    return None


def record_refusal(request: HttpRequest, response: HttpResponse) -> AuditEvent:
    user = getattr(request, "user", None)
    authenticated = user is not None and user.is_authenticated
    return AuditEvent.objects.create(
        user=user if authenticated else None,
        username=user.get_username() if authenticated else "anonyme",
        role=(role_of(user) or "") if authenticated else "",
        action="refused",
        object_type="url",
        object_id=request.path[:64],
        patient_id=_patient_id(request),
        why=_reason(request, response)[:200],
        details={"method": request.method, "path": request.path[:500], "status": response.status_code},
    )


class RefusalAuditMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code == 403:
            record_refusal(request, response)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> None:
        if isinstance(exception, PermissionDenied):
            request._liaison_refusal = str(exception)  # type: ignore[attr-defined]
        return None
