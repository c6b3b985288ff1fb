"""Roles (Django groups) and who may see or do what (docs/DESIGN.md, "Users and what each may see").

Every rule lives here; views, API and services ask these functions, never the groups directly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
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
    DPO = "dpo"


ROLE_LABELS = {
    Role.MEDECIN: "Médecin",
    Role.INTERNE: "Interne",
    Role.SAGE_FEMME: "Sage-femme",
    Role.SECRETAIRE: "Secrétaire médicale",
    Role.INFIRMIER: "Infirmier(e) / cadre",
    Role.QUALITE: "Qualité / DIM",
    Role.ADMIN_ETABLISSEMENT: "Administrateur établissement",
    Role.CAMPAGNE: "Campagne (CPAM / ARS)",
    Role.DPO: "Délégué à la protection des données",
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


# The audit samples the quality role may read, by name: `stay_ids(establishment_id)` gives the
# stays of an establishment's samples. They are kept by a floor above (`indicators`, whose
# AppConfig.ready registers its QLS campaign draws), so letters never imports them.
AuditSampleStayIds = Callable[[int | None], Iterable[int]]
_audit_samples: dict[str, AuditSampleStayIds] = {}


def register_audit_sample(name: str, stay_ids: AuditSampleStayIds) -> None:
    """Let the quality role read the stays `stay_ids(establishment_id)` gives (once per name)."""
    _audit_samples[name] = stay_ids


def audit_sample_stay_ids(user: User) -> set[int]:
    """The quality role reads the records of its establishment's audit samples, nothing else.

    The one sample registered is the QLS campaign draw (`indicators.qls.campaign_sample_stay_ids`:
    the HAS sample of a declared campaign, 80 records, once per campaign); an audit saved without
    a campaign opens no letter."""
    if role_of(user) != Role.QUALITE:
        return set()
    profile = getattr(user, "profile", None)
    establishment_id = profile.establishment_id if profile else None
    return {int(s) for stay_ids in _audit_samples.values() for s in stay_ids(establishment_id)}


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


def check_submit(user: User, stay: Stay) -> None:
    """An intern hands his draft to a senior of the unit, who signs it (`letters.review`)."""
    check_edit(user, stay)
    _require(
        role_of(user) == Role.INTERNE,
        "Seul un interne soumet la lettre à un senior ; un médecin la signe lui-même.",
    )


def check_review(user: User, stay: Stay) -> None:
    """Returning an intern's letter with a comment: whoever may sign it (a senior of the unit)."""
    check_sign(user, stay)


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


# --- Who grants what (accounts, roles, units) -------------------------------------------------
#
# The rule: whatever opens a patient record or the admin is granted by a superuser only. The
# establishment administrator maintains reference data and manages the accounts that open
# nothing: no role, or the campaign role (aggregates only), no unit, not staff, no permission.
# He may create such an account, change it, set its password, attach it to an establishment.
# He may view every other account (his own included) but changes none of them: not their
# password (he could then log in as them), not their role, units, staff or superuser status.
# Granting patient access to an account that had none disables its password: whoever set it
# before (the administrator who created the account) cannot use it; the superuser sets a new one.

# Roles whose holder reads patient data (clinical roles by unit, quality by audit sample).
# Roles that see patients' identities (the DPO: in the audit trail, never a letter's content).
PATIENT_ROLES = CLINICAL_ROLES | {Role.QUALITE, Role.DPO}
# Roles the establishment administrator may give: none of them opens a patient or the admin.
ADMINISTRATOR_GRANTABLE_ROLES = frozenset({Role.CAMPAGNE})


def is_superuser(user: User) -> bool:
    return bool(user.is_authenticated and user.is_active and getattr(user, "is_superuser", False))


def manages_accounts(user: User) -> bool:
    """The establishment administrator (staff) or a superuser may open the account admin."""
    if is_superuser(user):
        return True
    return bool(user.is_authenticated and user.is_staff and role_of(user) == Role.ADMIN_ETABLISSEMENT)


def account_roles(account: User) -> set[Role]:
    names = set(account.groups.values_list("name", flat=True)) if account.pk else set()
    return {r for r in Role if r.value in names}


def has_patient_access(account: User) -> bool:
    """Whether the account can read a patient: superuser, a patient role, or units."""
    if not account.pk:
        return False
    if account.is_superuser or account_roles(account) & PATIENT_ROLES:
        return True
    profile = getattr(account, "profile", None)
    return bool(profile and profile.units.exists())


def is_privileged_account(account: User) -> bool:
    """An account that only a superuser may change: it opens a patient, the admin or a permission."""
    if not account.pk:
        return False
    return bool(
        account.is_superuser
        or account.is_staff
        or account.user_permissions.exists()
        or account.groups.filter(permissions__isnull=False).exists()
        or account.groups.exclude(name__in=[r.value for r in ADMINISTRATOR_GRANTABLE_ROLES]).exists()
        or has_patient_access(account)
    )


def accounts_changeable_by(actor: User) -> QuerySet:
    """The accounts `actor` may change (the same rule as is_privileged_account, as a query)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    accounts = get_user_model().objects.all()
    if is_superuser(actor):
        return accounts
    if not manages_accounts(actor):
        return accounts.none()
    grantable = [r.value for r in ADMINISTRATOR_GRANTABLE_ROLES]
    return (
        accounts.filter(is_superuser=False, is_staff=False)
        .exclude(pk=actor.pk)
        .exclude(user_permissions__isnull=False)
        .exclude(groups__permissions__isnull=False)
        .exclude(groups__in=Group.objects.exclude(name__in=grantable))
        .exclude(profile__units__isnull=False)
        .distinct()
    )


def can_change_account(actor: User, account: User | None) -> bool:
    """May `actor` change `account` (fields, password, groups, profile)? None: a new account."""
    if is_superuser(actor):
        return True
    if not manages_accounts(actor):
        return False
    if account is None:
        return True
    return account.pk != actor.pk and not is_privileged_account(account)


def grantable_roles(actor: User) -> set[Role]:
    if is_superuser(actor):
        return set(Role)
    return set(ADMINISTRATOR_GRANTABLE_ROLES) if manages_accounts(actor) else set()


def can_grant_units(actor: User) -> bool:
    """Units open the patients of a clinical role: a superuser's grant only."""
    return is_superuser(actor)


def can_grant_admin_rights(actor: User) -> bool:
    """Superuser status, staff status and Django permissions (users or groups): superuser only."""
    return is_superuser(actor)


def check_account_grant(
    actor: User,
    account: User | None,
    *,
    roles: set[Role] | None = None,
    units: bool = False,
    is_staff: bool = False,
    is_superuser: bool = False,
    permissions: bool = False,
) -> None:
    """Refuse, in French, a change of `account` that `actor` may not make (None: a new account).

    `roles` are the roles the account will hold, `units` whether it will hold units, the flags
    what it will be; values equal to what the account already has are not a grant."""
    _require(
        can_change_account(actor, account),
        "Ce compte ouvre l'accès à des patients ou à l'administration : "
        "seul un superutilisateur peut le modifier.",
    )
    if can_grant_admin_rights(actor):
        return
    current = account_roles(account) if account is not None else set()
    refused = {r for r in (roles or set()) if r not in current and r not in grantable_roles(actor)}
    _require(
        not refused,
        "Seul un superutilisateur peut attribuer le rôle "
        + ", ".join(sorted(f"« {ROLE_LABELS[r]} »" for r in refused))
        + " : l'administrateur de l'établissement attribue seulement le rôle « Campagne (CPAM / ARS) ».",
    )
    _require(
        not units or can_grant_units(actor),
        "Seul un superutilisateur peut attribuer des services (ils ouvrent l'accès aux patients).",
    )
    _require(
        not (is_staff or is_superuser or permissions),
        "Seul un superutilisateur peut donner le statut équipe, le statut superutilisateur "
        "ou des permissions.",
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
    # The QLS campaigns (sector and period): declared by the administrator, drawn by quality.
    admin.permissions.add(
        *Permission.objects.filter(content_type__app_label="indicators", content_type__model="qlscampaign")
    )
    # The ADT messages received (read only): integrations are the administrator's.
    admin.permissions.add(
        *Permission.objects.filter(content_type__app_label="ingest", codename="view_inboundmessage")
    )


def check_operations(user: User) -> None:
    """Deliveries in failure and the health page: the establishment administrator's (no patient
    on them; see README « Envois en échec »)."""
    _require(
        role_of(user) == Role.ADMIN_ETABLISSEMENT,
        "Page réservée à l'administrateur de l'établissement (envois en échec, état de Liaison).",
    )


def check_access_log(user: User) -> None:
    """« Accès aux dossiers » (who read or changed which patient's letters): the data protection
    officer's only; he sees identities and traces, never a letter's content."""
    _require(
        role_of(user) == Role.DPO,
        "Page réservée au délégué à la protection des données (traçabilité des accès aux dossiers).",
    )
