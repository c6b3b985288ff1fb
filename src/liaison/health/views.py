"""`/sante/` and `/metriques/`.

`/sante/` answers JSON (`?format=json`, or `Accept: application/json`) to anyone, monitoring
included, without login: counts, ages and process kinds only, no patient data and no host name;
HTTP 503 when the status is "down". The HTML page (host names and instances added) is the
establishment administrator's. `/metriques/`: see `liaison.health.metrics`.
"""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from liaison.health import metrics as prometheus
from liaison.health import report as health
from liaison.letters.permissions import PermissionDeniedFr, check_operations


def wants_json(request: HttpRequest) -> bool:
    if request.GET.get("format") == "json":
        return True
    return request.get_preferred_type(["text/html", "application/json"]) == "application/json"


@login_not_required
@never_cache
@require_GET
def health_page(request: HttpRequest) -> HttpResponse:
    if wants_json(request):
        r = health.build()
        return JsonResponse(
            r.as_json(),
            status=503 if r.status == health.DOWN else 200,
            json_dumps_params={"ensure_ascii": False},
        )
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    try:
        check_operations(request.user)
    except PermissionDeniedFr as exc:
        raise PermissionDenied(str(exc)) from exc
    r = health.build()
    rows = [
        {**p, "name": name, "label": health.PROCESS_LABELS[name], "age": _ago(p["age_seconds"])}
        for name, p in r.processes.items()
    ]
    return render(
        request,
        "health/health.html",
        {
            "r": r,
            "processes": rows,
            "status_label": health.STATUS_LABELS[r.status],
            "stale_seconds": int(health.configured().stale_after.total_seconds()),
            "oldest_due": _ago(r.outbox.get("oldest_due_age_seconds")),
            "last_message": _ago(r.inbound.get("last_received_age_seconds")),
            "last_adt": _ago(r.inbound.get("last_adt_age_seconds")),
        },
        status=503 if r.status == health.DOWN else 200,
    )


def _ago(seconds: int | None) -> str:
    return f"il y a {health.human(dt.timedelta(seconds=seconds))}" if seconds is not None else ""


@login_not_required
@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    return prometheus.refusal(request) or prometheus.response(request)
