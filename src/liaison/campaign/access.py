"""Who may use the campaign pages: the `campagne` role; the `qualite` role may read the figures."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from liaison.letters.permissions import Role, role_of

REFUSED = "Espace réservé aux utilisateurs de la campagne (Assurance Maladie / ARS)."


def campaign_role(*extra: Role) -> Callable:
    allowed = {Role.CAMPAGNE, *extra}

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if role_of(request.user) not in allowed:
                raise PermissionDenied(REFUSED)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


campaign_only = campaign_role()
figures_readers = campaign_role(Role.QUALITE)
