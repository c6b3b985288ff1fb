"""Template context shared by every page: the user's role, for the navigation."""

from __future__ import annotations

from django.http import HttpRequest

from liaison.letters.permissions import CLINICAL_ROLES, Role, role_of


def navigation(request: HttpRequest) -> dict:
    role = role_of(request.user) if hasattr(request, "user") else None
    return {
        "nav_clinical": role in CLINICAL_ROLES,
        "nav_campaign": role in (Role.CAMPAGNE, Role.QUALITE),
    }
