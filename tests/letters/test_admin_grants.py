"""Who grants what in the Django admin (issue 16, finding 1): the establishment administrator
never grants superuser, staff, permissions, a clinical or quality role or units, nor to himself;
every role × every admin page answers what `letters.permissions` says."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group, User

from liaison.indicators.models import QlsCampaign
from liaison.ingest.apply import clear_caches, process
from liaison.ingest.models import InboundMessage
from liaison.letters.models import AuditEvent, Correspondent, Practitioner, UserProfile
from liaison.letters.permissions import Role, ensure_groups
from tests.ingest.messages import adt

pytestmark = pytest.mark.django_db

REFUSED = (302, 403)


@pytest.fixture
def site(hospital):
    """The hospital, a staff administrator, a superuser, a plain account and one row of each model."""
    ensure_groups()
    administrator = hospital["users"]["admin_etablissement"]
    administrator.is_staff = True
    administrator.save()
    root = User.objects.create_superuser("root", password="x")
    plain = User.objects.create_user("plain", password="x")
    UserProfile.objects.create(user=plain, establishment=hospital["est"])
    clear_caches()  # the ingest caches reference data per hospital
    process(adt("A01", "GRANT-1"))
    clear_caches()
    AuditEvent.objects.create(username="x", action="read", object_type="stay", object_id="1")
    QlsCampaign.objects.create(
        establishment=hospital["est"],
        sector="MCO",
        period_from=dt.date(2026, 9, 1),
        period_to=dt.date(2026, 11, 30),
    )
    return {**hospital, "admin": administrator, "root": root, "plain": plain}


def _pages(site) -> dict[str, str]:
    """Changelist, add and change page of every registered model, and the user password pages."""
    objects = {
        User: site["users"]["medecin"],
        Group: Group.objects.get(name="medecin"),
        UserProfile: site["users"]["medecin"].profile,
        Practitioner: site["users"]["medecin"].practitioner,
        Correspondent: site["gp"],
        InboundMessage: InboundMessage.objects.first(),
        AuditEvent: AuditEvent.objects.first(),
    }
    pages = {"index": "/admin/"}
    for model in admin.site._registry:
        base = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        obj = objects.get(model) or model.objects.first()
        pages[f"{model._meta.model_name}:changelist"] = base
        pages[f"{model._meta.model_name}:add"] = f"{base}add/"
        pages[f"{model._meta.model_name}:change"] = f"{base}{obj.pk}/change/"
    users = "/admin/auth/user/"
    pages["user:change-plain"] = f"{users}{site['plain'].pk}/change/"
    pages["user:change-self"] = f"{users}{site['admin'].pk}/change/"
    pages["user:password-clinical"] = f"{users}{site['users']['medecin'].pk}/password/"
    pages["user:password-plain"] = f"{users}{site['plain'].pk}/password/"
    pages["user:password-self"] = f"{users}{site['admin'].pk}/password/"
    pages["user:delete-clinical"] = f"{users}{site['users']['medecin'].pk}/delete/"
    pages["userprofile:change-plain"] = f"/admin/letters/userprofile/{site['plain'].profile.pk}/change/"
    return pages


# What the establishment administrator gets (200: shown, read only where the account is not his to
# change; 403: refused). Everything else of every registered model: 200.
ADMINISTRATOR_REFUSED = {
    "group:changelist",
    "group:add",
    "group:change",
    "auditevent:changelist",
    "auditevent:add",
    "auditevent:change",
    "inboundmessage:add",
    "user:password-clinical",
    "user:password-self",
    "user:delete-clinical",
}
SUPERUSER_REFUSED = {"auditevent:add", "inboundmessage:add"}


def test_every_registered_model_is_probed(site):
    names = {m._meta.model_name for m in admin.site._registry}
    assert names == {
        "user",
        "group",
        "establishment",
        "unit",
        "practitioner",
        "correspondent",
        "userprofile",
        "auditevent",
        "inboundmessage",
        "qlscampaign",
    }


@pytest.mark.parametrize("who", [r.value for r in Role] + ["superuser", "anonymous", "staff_medecin"])
def test_every_role_on_every_admin_page(site, client, who):
    if who == "superuser":
        client.force_login(site["root"])
    elif who == "staff_medecin":  # a clinician made staff by mistake still manages nothing
        site["users"]["medecin"].is_staff = True
        site["users"]["medecin"].save()
        client.force_login(site["users"]["medecin"])
    elif who != "anonymous":
        client.force_login(site["users"][who] if who != "admin_etablissement" else site["admin"])
    answers = {name: client.get(url).status_code for name, url in _pages(site).items()}
    if who == "superuser":
        expected = {n: 403 if n in SUPERUSER_REFUSED else 200 for n in answers}
    elif who == "admin_etablissement":
        expected = {n: 403 if n in ADMINISTRATOR_REFUSED else 200 for n in answers}
    elif who == "staff_medecin":
        assert answers.pop("index") == 200  # the empty admin index, nothing listed
        assert set(answers.values()) == {403}, answers
        return
    else:  # not staff: sent to the admin login
        expected = {n: 302 for n in answers}
    assert answers == expected


def test_the_administrator_sees_clinical_accounts_read_only(site, client):
    client.force_login(site["admin"])
    page = client.get(f"/admin/auth/user/{site['users']['medecin'].pk}/change/").content.decode()
    assert 'name="groups"' not in page and 'name="is_superuser"' not in page
    own = client.get(f"/admin/auth/user/{site['admin'].pk}/change/").content.decode()
    assert 'name="groups"' not in own and 'name="_save"' not in own
    plain = client.get(f"/admin/auth/user/{site['plain'].pk}/change/").content.decode()
    assert 'name="groups"' in plain and 'name="is_superuser"' not in plain and 'name="is_staff"' not in plain
    # Only the campaign role is offered.
    campagne = Group.objects.get(name="campagne")
    assert f'value="{campagne.pk}"' in plain
    assert f'value="{Group.objects.get(name="medecin").pk}"' not in plain
    profile = client.get(f"/admin/letters/userprofile/{site['plain'].profile.pk}/change/").content.decode()
    assert 'name="units"' not in profile


def _snapshot() -> list[tuple]:
    users = [
        (
            u.username,
            u.is_superuser,
            u.is_staff,
            u.password,
            tuple(sorted(u.groups.values_list("name", flat=True))),
        )
        for u in User.objects.order_by("username")
    ]
    units = sorted(UserProfile.units.through.objects.values_list("userprofile_id", "unit_id"))
    return [
        users,
        units,
        sorted(User.user_permissions.through.objects.values_list("user_id", "permission_id")),
    ]


def test_forged_posts_of_the_administrator_are_refused_and_change_nothing(site, client):
    client.force_login(site["admin"])
    before = _snapshot()
    medecin = Group.objects.get(name="medecin")
    cardio = site["cardio"]
    everything = User.user_permissions.field.related_model.objects.values_list("pk", flat=True)

    # Create a superuser (and staff, permissions, a clinical role) in one POST.
    created = client.post(
        "/admin/auth/user/add/",
        {
            "username": "mallory",
            "usable_password": "true",
            "password1": "Xy7!long-enough-pass",
            "password2": "Xy7!long-enough-pass",
            "is_superuser": "on",
            "is_staff": "on",
            "groups": [medecin.pk],
            "user_permissions": list(everything[:5]),
        },
    )
    assert created.status_code == 200
    assert "Seul un superutilisateur peut donner le statut équipe" in created.content.decode()

    # Give himself a clinical role, superuser status, units.
    own = site["admin"]
    assert (
        client.post(
            f"/admin/auth/user/{own.pk}/change/",
            {"username": own.username, "is_active": "on", "is_superuser": "on", "groups": [medecin.pk]},
        ).status_code
        == 403
    )
    assert (
        client.post(
            f"/admin/letters/userprofile/{own.profile.pk}/change/",
            {"user": own.pk, "establishment": site["est"].pk, "units": [cardio.pk]},
        ).status_code
        == 403
    )
    # Give a plain account (his to manage) a clinical role, then units.
    plain = site["plain"]
    role = client.post(
        f"/admin/auth/user/{plain.pk}/change/",
        {"username": "plain", "is_active": "on", "groups": [medecin.pk]},
    )
    assert role.status_code == 200 and "Sélectionnez un choix valide" in role.content.decode()
    units = client.post(
        f"/admin/letters/userprofile/{plain.profile.pk}/change/",
        {"user": plain.pk, "establishment": site["est"].pk, "units": [cardio.pk]},
    )
    assert units.status_code == 200
    assert "Seul un superutilisateur peut attribuer des services" in units.content.decode()
    # Reset a physician's password to log in as him.
    assert (
        client.post(
            f"/admin/auth/user/{site['users']['medecin'].pk}/password/",
            {
                "password1": "Xy7!long-enough-pass",
                "password2": "Xy7!long-enough-pass",
                "usable_password": "true",
            },
        ).status_code
        == 403
    )
    assert _snapshot() == before
    # Create a profile with units for a fresh account.
    fresh = User.objects.create_user("fresh", password="x")
    before = _snapshot()
    profile = client.post(
        "/admin/letters/userprofile/add/",
        {"user": fresh.pk, "establishment": site["est"].pk, "units": [cardio.pk]},
    )
    assert "Seul un superutilisateur peut attribuer des services" in profile.content.decode()
    assert not UserProfile.objects.filter(user=fresh).exists()
    assert _snapshot() == before


def test_the_account_the_administrator_creates_sees_no_patient(site, client):
    client.force_login(site["admin"])
    password = "Xy7!long-enough-pass"
    answer = client.post(
        "/admin/auth/user/add/",
        {"username": "nouveau", "usable_password": "true", "password1": password, "password2": password},
    )
    assert answer.status_code == 302
    account = User.objects.get(username="nouveau")
    campagne = Group.objects.get(name="campagne")
    changed = client.post(
        f"/admin/auth/user/{account.pk}/change/",
        {"username": "nouveau", "is_active": "on", "groups": [campagne.pk]},
    )
    assert changed.status_code == 302, changed.content.decode()[:2000]
    account.refresh_from_db()
    assert not account.is_superuser and not account.is_staff
    assert list(account.groups.values_list("name", flat=True)) == ["campagne"]

    client.logout()
    assert client.login(username="nouveau", password=password)
    stays = client.get("/api/stays")
    assert site["patient"].birth_family_name not in stays.content.decode()
    assert stays.status_code in (200, 403) and (stays.status_code == 403 or stays.json() == [])


def test_a_superuser_grants_patient_access_and_the_administrators_password_stops_working(site, client):
    """The administrator set the password; once a superuser opens patients to it, it no longer works."""
    client.force_login(site["admin"])
    password = "Xy7!long-enough-pass"
    client.post(
        "/admin/auth/user/add/",
        {"username": "dr.neuf", "usable_password": "true", "password1": password, "password2": password},
    )
    account = User.objects.get(username="dr.neuf")
    client.force_login(site["root"])
    medecin = Group.objects.get(name="medecin")
    granted = client.post(
        f"/admin/auth/user/{account.pk}/change/",
        {
            "username": "dr.neuf",
            "is_active": "on",
            "groups": [medecin.pk],
            "date_joined_0": "2026-01-01",
            "date_joined_1": "10:00:00",
        },
        follow=True,
    )
    assert "son mot de passe a été désactivé" in granted.content.decode()
    account.refresh_from_db()
    assert account.groups.filter(name="medecin").exists() and not account.has_usable_password()
    client.logout()
    assert not client.login(username="dr.neuf", password=password)
    # The superuser sets a new one; the account is now outside the administrator's reach.
    client.force_login(site["root"])
    new = "Autre!mot-de-passe-9"
    client.post(
        f"/admin/auth/user/{account.pk}/password/",
        {"password1": new, "password2": new, "usable_password": "true"},
    )
    account.refresh_from_db()
    assert account.check_password(new)
    client.force_login(site["admin"])
    assert client.get(f"/admin/auth/user/{account.pk}/password/").status_code == 403
