"""The audit trail: one `AuditEvent` row per read or change of patient data."""

from __future__ import annotations

from typing import Any

from liaison import rowsql
from liaison.letters.models import AuditEvent, Letter, Patient, Stay
from liaison.letters.permissions import User, role_of

# What each trace's `action` says, for the histories shown to users (letter, « Accès aux dossiers »).
ACTION_LABELS = {
    "read": "lecture",
    "list": "liste",
    "create": "création",
    "update": "modification",
    "sign": "signature",
    "hand_over": "remise au patient",
    "correct": "correction",
    "download": "téléchargement",
    "preview": "aperçu",
    "reconcile": "rapprochement",
    "refused": "accès refusé",
    "export": "export",
    "submit": "soumission à un senior",
    "return": "renvoi à l'interne",
    "resend": "renvoi d'un envoi",
    "login_refused": "connexion refusée",
}


def record_list(user: User, object_type: str, ids: list[int], why: str) -> AuditEvent:
    """One trace for a list screen that shows several patients (ids kept in the details)."""
    return AuditEvent.objects.create(
        user=user,
        username=user.get_username(),
        role=role_of(user) or "",
        action="list",
        object_type=object_type,
        object_id="",
        why=why[:200],
        details={"ids": ids},
    )


def record_object(user: User | None, action: str, object_type: str, object_id: str, why: str) -> AuditEvent:
    """A trace about something that is not a letter, stay or patient (a raw message, a URL)."""
    authenticated = user is not None and user.is_authenticated
    return AuditEvent.objects.create(
        user=user if authenticated else None,
        username=user.get_username() if authenticated else "anonyme",
        role=(role_of(user) or "") if authenticated else "",
        action=action,
        object_type=object_type,
        object_id=str(object_id)[:64],
        why=why[:200],
    )


def event(
    user: User | None,
    action: str,
    obj: Letter | Stay | Patient,
    why: str = "",
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """One trace, not saved yet (the ADT listener writes a message's traces in one INSERT)."""
    if isinstance(obj, Letter):
        patient_id = obj.stay.patient_id
    elif isinstance(obj, Stay):
        patient_id = obj.patient_id
    else:
        patient_id = obj.pk
    authenticated = user is not None and user.is_authenticated
    return AuditEvent(
        user=user if authenticated else None,
        username=user.get_username() if authenticated else "système",
        role=(role_of(user) or "") if authenticated else "",
        action=action,
        object_type=type(obj).__name__.lower(),
        object_id=str(obj.pk),
        patient_id=patient_id,
        why=why[:200],
        details=details or {},
    )


def record(
    user: User | None,
    action: str,
    obj: Letter | Stay | Patient,
    why: str = "",
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Write one trace. `action` is a short verb: read, create, update, sign, hand_over, correct…"""
    trace = event(user, action, obj, why, details)
    rowsql.insert([trace])
    return trace
