"""Request bodies of the REST API checked before django-ninja reads them, refused in French.

django-ninja answers a body it cannot parse with « Cannot parse request body » (400), and a body
over Django's `DATA_UPLOAD_MAX_MEMORY_SIZE` ends in Django's bare « Bad Request (400) » page. This
middleware answers first, in JSON `{"detail": "…"}` like the API: over the bound, 413 without
reading the body; a body that is neither JSON nor a form 415; a JSON body (or one without a type)
that is not UTF-8, not JSON, or nested deeper than `MAX_DEPTH` (the letter's content nests five
levels) 400. An empty body passes, and so does a form (the API reads none; Django parses it within
its own bounds): the endpoint's schema says what it needs.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

MAX_DEPTH = 32
_METHODS = {"POST", "PUT", "PATCH"}


def _depth(value: object) -> int:
    """Nesting depth of a parsed JSON value, without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict | list):
            deepest = max(deepest, level)
            stack.extend((child, level + 1) for child in (node.values() if isinstance(node, dict) else node))
    return deepest


def body_refusal(request: HttpRequest) -> tuple[int, str] | None:
    """(status, French reason) when the request's body cannot be given to the API, else None."""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    raw = request.META.get("CONTENT_LENGTH") or "0"
    if not raw.isdigit():
        return 400, f"En-tête Content-Length invalide : « {raw[:40]} »."
    if limit is not None and int(raw) > limit:
        return 413, f"Corps de la requête trop volumineux : {int(raw)} octets, {limit} au plus."
    kind = (request.content_type or "").lower()
    if kind in ("multipart/form-data", "application/x-www-form-urlencoded"):
        return None
    body = request.body
    if not body.strip():
        return None
    if kind and kind != "application/json" and not kind.endswith("+json"):
        return 415, f"Type de contenu « {kind[:60]} » non pris en charge : application/json attendu."
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return (
            400,
            f"Le corps de la requête n'est pas un texte UTF-8 (octet invalide à la position {exc.start}).",
        )
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return (
            400,
            f"Le corps de la requête n'est pas un JSON valide (ligne {exc.lineno}, colonne {exc.colno}).",
        )
    except RecursionError:
        return 400, f"Le corps de la requête est imbriqué sur plus de {MAX_DEPTH} niveaux."
    if _depth(data) > MAX_DEPTH:
        return 400, f"Le corps de la requête est imbriqué sur plus de {MAX_DEPTH} niveaux."
    return None


class ApiBodyGuard:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method in _METHODS and request.path.startswith("/api/"):
            refusal = body_refusal(request)
            if refusal:
                status, reason = refusal
                return JsonResponse({"detail": reason}, status=status)
        return self.get_response(request)
