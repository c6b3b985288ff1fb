"""Guarding the doors: login throttling by account and by address (django-axes), session expiry
after inactivity (the worklist's automatic refresh is not activity), and the data protection
officer's « Accès aux dossiers » page and CSV export (for every role, only `dpo` gets in)."""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import os
import subprocess
import sys
import time

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.test import Client
from django.utils import timezone

from liaison.letters import audit, lifecycle
from liaison.letters.models import AuditEvent
from liaison.letters.permissions import Role

ADMIN = "u_admin_etablissement"


def attempt(username: str, password: str, address: str) -> tuple[Client, int, str]:
    client = Client(REMOTE_ADDR=address)
    response = client.post("/connexion/", {"username": username, "password": password})
    return client, response.status_code, response.content.decode()


def logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def age_failures(by: dt.timedelta) -> None:
    """As if `by` had passed since the failures."""
    for a in AccessAttempt.objects.all():
        AccessAttempt.objects.filter(pk=a.pk).update(attempt_time=a.attempt_time - by)


def test_the_right_password_is_refused_once_the_account_is_locked_until_the_lock_expires(hospital):
    limit = settings.AXES_FAILURE_LIMIT
    assert limit == 5 and dt.timedelta(minutes=15) == settings.AXES_COOLOFF_TIME  # the defaults
    for i in range(limit - 1):
        _, status, _ = attempt(ADMIN, "mauvais", f"10.0.0.{i + 1}")
        assert status == 200  # the form again, « Identifiant ou mot de passe incorrect »
    client, status, _ = attempt(ADMIN, "x", "10.0.0.50")
    assert status == 302 and logged_in(client)  # below the limit: the right password works
    for i in range(limit):  # a success cleared the failures: five more, from five addresses
        attempt(ADMIN, "mauvais", f"10.0.1.{i + 1}")

    client, status, body = attempt(ADMIN, "x", "10.0.2.1")  # right password, yet another address
    assert status == 429 and not logged_in(client)
    assert "Connexion bloquée" in body and "même avec le bon mot de passe" in body
    assert client.get("/").status_code == 302
    admin_login = Client(REMOTE_ADDR="10.0.2.2").post("/admin/login/", {"username": ADMIN, "password": "x"})
    assert admin_login.status_code == 429  # the Django admin's login is the same door

    age_failures(settings.AXES_COOLOFF_TIME - dt.timedelta(minutes=1))
    client, status, _ = attempt(ADMIN, "x", "10.0.2.1")
    assert status == 429 and not logged_in(client)  # 14 minutes later: still locked

    age_failures(dt.timedelta(minutes=2))
    client, status, _ = attempt(ADMIN, "x", "10.0.2.1")
    assert status == 302 and logged_in(client)  # the lock has expired


def test_an_address_that_guessed_too_much_is_locked_for_every_account(hospital):
    for i in range(settings.AXES_FAILURE_LIMIT):
        attempt(f"inconnu{i}", "mauvais", "10.9.9.9")
    client, status, _ = attempt(ADMIN, "x", "10.9.9.9")
    assert status == 429 and not logged_in(client)
    client, status, _ = attempt(ADMIN, "x", "10.9.9.10")  # the same account from another computer
    assert status == 302 and logged_in(client)


def test_authenticate_without_a_request_still_works(hospital):
    client = Client()
    assert client.login(username=ADMIN, password="x")  # Django's authenticate() without request


# --- Session expiry after inactivity -------------------------------------------------------------
def test_the_idle_delay_is_15_minutes_by_default_and_configurable():
    assert settings.SESSION_COOKIE_AGE == 15 * 60 and settings.SESSION_SAVE_EVERY_REQUEST
    code = (
        "import django; django.setup(); from django.conf import settings; print(settings.SESSION_COOKIE_AGE)"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "liaison.web.settings"}
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={**env, "LIAISON_SESSION_IDLE_MINUTES": "30"},
        capture_output=True,
        text=True,
    )
    assert done.stdout.strip() == "1800"
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={**env, "LIAISON_SESSION_IDLE_MINUTES": "0"},
        capture_output=True,
        text=True,
    )
    assert done.returncode != 0 and "LIAISON_SESSION_IDLE_MINUTES invalide" in done.stderr


POLL = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TRIGGER": "worklist"}  # the worklist's refresh


def test_an_idle_session_is_logged_out_and_an_active_one_is_not(hospital, settings):
    settings.SESSION_COOKIE_AGE = 2  # the idle delay, shortened for the test
    idle, active = Client(), Client()
    idle.force_login(hospital["users"]["medecin"])
    active.force_login(hospital["users"]["infirmier"])
    assert idle.get("/").status_code == 200 and active.get("/").status_code == 200
    for _ in range(4):  # 4 s: the active user clicks every second, the idle one's page only polls
        time.sleep(1)
        assert active.get("/sejours/").status_code == 200
        idle.get("/", **POLL)
    assert active.get("/").status_code == 200
    response = idle.get("/", **POLL)  # the refresh of an expired session sends the page to login
    assert response.status_code == 204 and response["HX-Redirect"] == "/connexion/"
    response = idle.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/connexion/")


def test_pages_carry_the_idle_delay_for_the_screen_to_go_back_to_login(hospital):
    client = Client()
    client.force_login(hospital["users"]["medecin"])
    body = client.get("/").content.decode()
    assert 'data-idle-seconds="900"' in body and 'data-login-url="/connexion/"' in body


# --- « Accès aux dossiers » ----------------------------------------------------------------------
@pytest.fixture
def traced(hospital):
    """A physician read the patient's letter; a nurse's worklist showed him; a trace a year ago."""
    letter = lifecycle.open_letter(hospital["stay"])
    content = letter.parsed().model_copy(update={"reason": "Motif-secret-de-la-lettre"})
    letter.content = content.model_dump(mode="json")
    letter.save()
    reader = Client()
    reader.force_login(hospital["users"]["medecin"])
    assert reader.get(f"/lettres/{letter.pk}/").status_code == 200
    audit.record_list(hospital["users"]["infirmier"], "stay", [hospital["stay"].pk], why="sorties du jour")
    old = audit.record(hospital["users"]["secretaire"], "read", letter, why="consultation ancienne")
    AuditEvent.objects.filter(pk=old.pk).update(at=timezone.now() - dt.timedelta(days=400))
    dpo = Client()
    dpo.force_login(hospital["users"]["dpo"])
    return {**hospital, "letter": letter, "dpo": dpo}


@pytest.mark.parametrize("role", [*(r.value for r in Role), None])
def test_only_the_data_protection_officer_opens_the_page_and_the_export(traced, role):
    client = Client()
    if role:
        client.force_login(traced["users"][role])
    for path in ("/acces-dossier/", "/acces-dossier/export.csv?patient=IPP001"):
        response = client.get(path)
        if role == Role.DPO:
            assert response.status_code == 200, path
        elif role is None:
            assert response.status_code == 302 and "/connexion/" in response["Location"]
        else:
            assert response.status_code == 403, (role, path)
            assert "délégué à la protection des données" in response.content.decode()


def test_the_officer_lands_on_the_page_from_the_login(traced):
    response = traced["dpo"].get("/")
    assert response.status_code == 302 and response["Location"] == "/acces-dossier/"


def test_who_read_which_patient_by_ipp_or_name_without_the_letter_content(traced):
    for patient in ("IPP001", "dupont marie"):
        body = traced["dpo"].get("/acces-dossier/", {"patient": patient}).content.decode()
        assert "u_medecin" in body and "consultation de la lettre" in body and "lecture" in body
        assert "DUPONT Marie" in body and "IPP001" in body
        assert "u_infirmier" in body and "liste de 1 séjour(s)" in body  # the worklist that showed him
        assert "consultation ancienne" not in body  # 400 days ago: outside the last 30 days
        assert "Motif-secret-de-la-lettre" not in body
    body = traced["dpo"].get("/acces-dossier/", {"utilisateur": "u_infirmier", "patient": "IPP001"})
    assert "u_medecin" not in body.content.decode()
    year_ago = (timezone.localdate() - dt.timedelta(days=400)).isoformat()
    body = traced["dpo"].get("/acces-dossier/", {"du": year_ago, "au": year_ago}).content.decode()
    assert "consultation ancienne" in body and "u_medecin" not in body


def test_the_export_is_a_csv_of_the_same_traces(traced):
    response = traced["dpo"].get("/acces-dossier/export.csv", {"patient": "IPP001"})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:4] == ["Date et heure", "Utilisateur", "Rôle", "Action"]
    assert ["u_medecin", "Médecin", "lecture", "lettre"] in [r[1:5] for r in rows[1:]]
    assert all("Motif-secret" not in cell for r in rows for cell in r)


def test_the_officers_consultations_are_traced(traced):
    traced["dpo"].get("/acces-dossier/", {"patient": "IPP001"})
    traced["dpo"].get("/acces-dossier/export.csv", {"patient": "IPP001"})
    mine = AuditEvent.objects.filter(username="u_dpo", object_type="access_log").order_by("pk")
    assert [e.action for e in mine] == ["read", "export"]
    assert all(e.patient_id == traced["patient"].pk for e in mine)
    assert mine[0].details["filtres"]["patient"] == "IPP001"


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ({"du": "2026-05-10", "au": "2026-05-01"}, "précède son début"),
        ({"du": "2024-01-01", "au": "2026-01-01"}, "366 jours au plus"),
        ({"du": "hier"}, "date valide"),
        ({"patient": "DUPONT\x07"}, "Caractère de contrôle"),
        ({"patient": "X" * 101}, "au plus 100"),
        ({"utilisateur": "u" * 151}, "au plus 150"),
        ({"page": "-1"}, "supérieure ou égale à 1"),
        ({"patient": "Personne-Inconnue"}, "Aucun patient de l'établissement"),
    ],
)
def test_filters_are_bounded_and_refused_in_french(traced, query, reason):
    for path in ("/acces-dossier/", "/acces-dossier/export.csv"):
        response = traced["dpo"].get(path, query)
        assert response.status_code == 400, (path, query)
        body = html.unescape(response.content.decode())
        assert reason in body and "u_medecin" not in body


def test_a_patient_of_another_establishment_is_not_found(traced):
    from liaison.letters.models import Establishment, Patient
    from tests.conftest import valid_finess

    other = Establishment.objects.create(
        name="Autre CH", finess_ej=valid_finess(7), finess_eg=valid_finess(8)
    )
    p = traced["patient"]
    Patient.objects.filter(pk=p.pk).update(establishment=other)
    response = traced["dpo"].get("/acces-dossier/", {"patient": "IPP001"})
    assert response.status_code == 400 and "u_medecin" not in response.content.decode()
