"""Roles (Django groups) and who may see or do what (DESIGN.md, "Users and what each may see").

Every rule lives here; views, API and services ask these functions, never the groups directly.
"""

from __future__ import annotations

from enum import StrEnum

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet

from liaison.letters.models import Letter, Stay


class Role(StrEnum):
    MEDECIN = "medecin"
    INTERNE = "interne"
    SAGE_FEMME = "sage_femme"
    SECRETAIRE = "secretaire"
    INFIRMIER = "infirmier"
    QUALITE = "qualite"
    ADMIN_ETABLISSEMENT = "admin_etablissement"
    CAMPAGNE = "campagne"


ROLE_LABELS = {
    Role.MEDECIN: "Médecin",
    Role.INTERNE: "Interne",
    Role.SAGE_FEMME: "Sage-femme",
    Role.SECRETAIRE: "Secrétaire médicale",
    Role.INFIRMIER: "Infirmier(e) / cadre",
    Role.QUALITE: "Qualité / DIM",
    Role.ADMIN_ETABLISSEMENT: "Administrateur établissement",
    Role.CAMPAGNE: "Campagne (CPAM / ARS)",
}

CLINICAL_ROLES = {Role.MEDECIN, Role.INTERNE, Role.SAGE_FEMME, Role.SECRETAIRE, Role.INFIRMIER}
DRAFTING_ROLES = {Role.MEDECIN, Role.INTERNE, Role.SAGE_FEMME, Role.SECRETAIRE}
CORRECTING_ROLES = {Role.MEDECIN, Role.INTERNE, Role.SAGE_FEMME}
HANDOVER_ROLES = CLINICAL_ROLES

User = AbstractBaseUser | AnonymousUser


class PermissionDeniedFr(PermissionError):
    """A refused action; the message is French and says why."""


def role_of(user: User) -> Role | None:
    if not user.is_authenticated:
        return None
    cached = getattr(user, "_liaison_role", False)
    if cached is not False:
        return cached
    names = set(user.groups.values_list("name", flat=True))
    role = next((r for r in Role if r.value in names), None)
    user._liaison_role = role
    return role


def unit_ids(user: User) -> set[int]:
    if not user.is_authenticated:
        return set()
    cached = getattr(user, "_liaison_units", None)
    if cached is None:
        profile = getattr(user, "profile", None)
        cached = set(profile.units.values_list("id", flat=True)) if profile else set()
        user._liaison_units = cached
    return cached


def sees_clinical_content(user: User) -> bool:
    return role_of(user) in CLINICAL_ROLES


def audit_sample_stay_ids(user: User) -> set[int]:
    """The quality role reads the records of its establishment's QLS audit samples, nothing else."""
    if role_of(user) != Role.QUALITE:
        return set()
    from liaison.indicators.models import QlsAudit

    profile = getattr(user, "profile", None)
    draws = QlsAudit.objects.filter(establishment_id=profile.establishment_id if profile else None)
    return {int(s) for d in draws.values_list("draw", flat=True) for s in d["sample"]}


def stays_visible_to(user: User) -> QuerySet[Stay]:
    if role_of(user) == Role.QUALITE:
        return Stay.objects.filter(pk__in=audit_sample_stay_ids(user))
    if not sees_clinical_content(user):
        return Stay.objects.none()
    return Stay.objects.filter(unit_id__in=unit_ids(user), cancelled=False)


def letters_visible_to(user: User) -> QuerySet[Letter]:
    return Letter.objects.filter(stay__in=stays_visible_to(user))


def can_view_stay(user: User, stay: Stay) -> bool:
    if role_of(user) == Role.QUALITE:
        return stay.pk in audit_sample_stay_ids(user)
    return sees_clinical_content(user) and stay.unit_id in unit_ids(user)


def _require(ok: bool, message: str) -> None:
    if not ok:
        raise PermissionDeniedFr(message)


def check_view(user: User, stay: Stay) -> None:
    _require(can_view_stay(user, stay), "Vous n'avez pas accès aux patients de ce service.")


def check_edit(user: User, stay: Stay) -> None:
    check_view(user, stay)
    _require(
        role_of(user) in DRAFTING_ROLES,
        "Votre rôle ne permet pas de rédiger la lettre de liaison "
        "(médecin, interne, sage-femme ou secrétaire médicale).",
    )


def check_sign(user: User, stay: Stay) -> None:
    check_view(user, stay)
    role = role_of(user)
    practitioner = getattr(user, "practitioner", None)
    if role == Role.SAGE_FEMME:
        _require(
            stay.unit.is_obstetric, "Une sage-femme ne peut signer que la lettre d'un séjour d'obstétrique."
        )
    else:
        _require(
            role == Role.MEDECIN,
            "Seul un médecin de l'établissement peut signer la lettre de liaison "
            "(ou une sage-femme pour un séjour d'obstétrique).",
        )
    _require(
        practitioner is not None and bool(practitioner.rpps),
        "Votre compte n'est rattaché à aucun praticien identifié par son RPPS : signature impossible.",
    )


def check_hand_over(user: User, stay: Stay) -> None:
    check_view(user, stay)
    _require(
        role_of(user) in HANDOVER_ROLES,
        "Seul un membre de l'équipe de soins peut enregistrer la remise de la lettre au patient.",
    )


def check_correct(user: User, stay: Stay) -> None:
    check_view(user, stay)
    _require(
        role_of(user) in CORRECTING_ROLES,
        "Seul un médecin, un interne ou une sage-femme peut ouvrir une correction de la lettre.",
    )


# Reference data the establishment administrator maintains in the Django admin (no clinical data).
ADMIN_MODELS = ("establishment", "unit", "practitioner", "correspondent", "userprofile")


def ensure_groups() -> None:
    """Create one Django group per role; give the administrator the reference-data permissions."""
    from django.contrib.auth.models import Group, Permission

    for role in Role:
        Group.objects.get_or_create(name=role.value)
    admin = Group.objects.get(name=Role.ADMIN_ETABLISSEMENT.value)
    perms = Permission.objects.filter(content_type__app_label="letters", content_type__model__in=ADMIN_MODELS)
    admin.permissions.add(
        *perms, *Permission.objects.filter(content_type__app_label="auth", content_type__model="user")
    )
    # The ADT messages received (read only): integrations are the administrator's.
    admin.permissions.add(
        *Permission.objects.filter(content_type__app_label="ingest", codename="view_inboundmessage")
    )
