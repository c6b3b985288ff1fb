"""Template context shared by every page: the user's role, for the navigation."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest

from liaison.letters.permissions import CLINICAL_ROLES, Role, role_of
from liaison.web import mailboxes


def navigation(request: HttpRequest) -> dict:
    role = role_of(request.user) if hasattr(request, "user") else None
    return {
        "nav_clinical": role in CLINICAL_ROLES,
        "nav_campaign": role in (Role.CAMPAGNE, Role.QUALITE),
        "nav_operations": role == Role.ADMIN_ETABLISSEMENT,  # envois en échec, état de Liaison
        "nav_access_log": role == Role.DPO,  # « Accès aux dossiers »
        # the page goes back to the login screen after this long without a key pressed or a click
        "session_idle_seconds": settings.SESSION_COOKIE_AGE,
        "login_lock_minutes": int(settings.AXES_COOLOFF_TIME.total_seconds() // 60),
        "nav_indicators": role in CLINICAL_ROLES or role == Role.QUALITE,
        # the demo's loopback peers (`make run`): the mail sandbox's boxes, the DMP sandbox
        "nav_demo_mail": role in CLINICAL_ROLES and mailboxes.enabled(),
        "demo_dmp_url": settings.LIAISON_DEMO.dmp_sandbox_url if role in CLINICAL_ROLES else "",
    }
