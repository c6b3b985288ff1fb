"""How a user authenticated, and what that allows: local passwords, and the signature's recency.

- Every login stamps the session with when and how the user authenticated (`liaison_auth`: time,
  method « psc » or « password », the RPPS and acr of a PSC login). A signature asks for an
  authentication younger than SIGN_MAX_AUTH_AGE_MINUTES (`recent_enough`); the sign page offers to
  authenticate again (PSC with `prompt=login`, or the password where passwords are allowed) and
  `reauthenticate` handles the password.
- Outside the demo (CLINICIAN_PASSWORDS off) the health professionals log in with Pro Santé
  Connect only: `LoginForm` refuses their local password in French, pointing to PSC; the
  establishment's administrators and the superuser keep theirs (`must_use_psc`).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.signals import user_logged_in
from django.contrib.auth.views import LoginView
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from liaison.letters.models import AuditEvent
from liaison.letters.permissions import Role, role_of

log = logging.getLogger("liaison.auth")

SESSION_KEY = "liaison_auth"
PSC = "psc"
PASSWORD = "password"
METHOD_LABELS = {PSC: "Pro Santé Connect (carte CPS ou e-CPS)", PASSWORD: "identifiant et mot de passe"}

PSC_ONLY = (
    "Les professionnels de santé se connectent à Liaison avec Pro Santé Connect (carte CPS ou "
    "application e-CPS) : la connexion par mot de passe leur est fermée dans cet établissement."
)


def psc_configured() -> bool:
    conf = settings.PSC
    return bool(conf["CLIENT_ID"] and conf["CLIENT_SECRET"] and conf["DISCOVERY_URL"])


def rpps_of(user: Any) -> str:
    practitioner = getattr(user, "practitioner", None)
    return (practitioner.rpps or "") if practitioner is not None else ""


def must_use_psc(user: Any) -> bool:
    """A health professional: a PSC role, or an account tied to a practitioner with an RPPS.
    The superuser and the establishment's administrators never are (they keep their password)."""
    if user.is_superuser or role_of(user) == Role.ADMIN_ETABLISSEMENT:
        return False
    role = role_of(user)
    return (role is not None and role.value in settings.PSC_ROLES) or bool(rpps_of(user))


def password_allowed(user: Any) -> bool:
    return settings.CLINICIAN_PASSWORDS or not must_use_psc(user)


def trace_refusal(username: str, method: str, reason: str, message: str, **details: Any) -> None:
    """A refused login in the audit trail (nobody logged in: no user row, the name as given)."""
    AuditEvent.objects.create(
        user=None,
        username=(username or "inconnu")[:150],
        action="login_refused",
        object_type="connexion",
        object_id=method,
        why=message[:200],
        details={"reason": reason, **details},
    )


# --- the session's stamp ---------------------------------------------------------------------------
def stamp(request: HttpRequest, method: str, at: float | None = None, **extra: str) -> None:
    when = float(at if at is not None else time.time())
    request.session[SESSION_KEY] = {"at": when, "method": method, **extra}


def auth_info(request: HttpRequest) -> dict | None:
    info = request.session.get(SESSION_KEY)
    return info if isinstance(info, dict) and "at" in info else None


def max_age_seconds() -> int:
    return settings.SIGN_MAX_AUTH_AGE_MINUTES * 60


def recent_enough(request: HttpRequest) -> bool:
    info = auth_info(request)
    return info is not None and time.time() - float(info["at"]) <= max_age_seconds()


def too_old_message() -> str:
    return (
        f"Pour signer, authentifiez-vous de nouveau : votre dernière authentification date de plus de "
        f"{settings.SIGN_MAX_AUTH_AGE_MINUTES} minutes."
    )


def signer(request: HttpRequest) -> dict:
    """Who signs and how they authenticated, for the sign page."""
    user = request.user
    practitioner = getattr(user, "practitioner", None)
    info = auth_info(request) or {}
    at = info.get("at")
    return {
        "name": str(practitioner) if practitioner is not None else user.get_username(),
        "rpps": rpps_of(user),
        "method": info.get("method", ""),
        "method_label": METHOD_LABELS.get(info.get("method", ""), "inconnue"),
        "at": timezone.localtime(dt.datetime.fromtimestamp(at, tz=dt.UTC)) if at else None,
        "acr": info.get("acr", ""),
        "recent": recent_enough(request),
        "max_minutes": settings.SIGN_MAX_AUTH_AGE_MINUTES,
        "password_allowed": password_allowed(user),
    }


@receiver(user_logged_in)
def _stamp_login(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    # A PSC login stamps the session itself afterwards, with the ID token's auth_time.
    if request is not None and hasattr(request, "session"):
        stamp(request, getattr(request, "liaison_auth_method", PASSWORD))


# --- the login form ------------------------------------------------------------------------------
class LoginForm(AuthenticationForm):
    psc_refusal = ""

    def confirm_login_allowed(self, user: Any) -> None:
        super().confirm_login_allowed(user)
        if not password_allowed(user):
            self.psc_refusal = PSC_ONLY
            log.warning("local password refused (PSC required): user=%s", user.get_username())
            trace_refusal(user.get_username(), "password", "psc_required", PSC_ONLY)
            raise forms.ValidationError(PSC_ONLY, code="psc_required")


class Login(LoginView):
    form_class = LoginForm

    def get_context_data(self, **kwargs: Any) -> dict:
        ctx = super().get_context_data(**kwargs)
        ctx["psc_enabled"] = psc_configured()
        ctx["clinician_passwords"] = settings.CLINICIAN_PASSWORDS
        return ctx


# --- authenticate again before signing, with the password -------------------------------------------
def safe_next(request: HttpRequest, target: str) -> str:
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return settings.LOGIN_REDIRECT_URL


@require_POST
def reauthenticate(request: HttpRequest) -> HttpResponse:
    """The password typed again on the sign page (demo, or an account that keeps its password)."""
    if not request.user.is_authenticated:
        return redirect(settings.LOGIN_URL)
    back = safe_next(request, request.POST.get("next", ""))
    user = request.user
    if not password_allowed(user):
        messages.error(request, PSC_ONLY)
        return redirect(back)
    checked = authenticate(request, username=user.get_username(), password=request.POST.get("password", ""))
    if checked is None or checked.pk != user.pk:
        log.warning("re-authentication refused (wrong password): user=%s", user.get_username())
        messages.error(request, "Mot de passe incorrect : authentification non renouvelée.")
        return redirect(back)
    stamp(request, PASSWORD)
    log.info("re-authenticated by password: user=%s", user.get_username())
    messages.success(request, "Authentification renouvelée.")
    return redirect(back)
