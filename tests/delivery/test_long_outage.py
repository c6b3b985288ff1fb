"""A long DMP outage: the delivery keeps failing for 72 h before it is given up (real HTTP to a
closed port), then appears on « Envois en échec »; « renvoyer » requeues it and the worker files
it in the DMP sandbox once it is back. Every role on the page and on the POST."""

from __future__ import annotations

import datetime as dt
import re
import socket

import pytest
from django.test import Client
from django.utils import timezone

from liaison.delivery import dmp, outbox, worker
from liaison.delivery.config import DmpConfig
from liaison.delivery.models import Delivery
from liaison.letters.models import AuditEvent, Establishment, UserProfile
from liaison.letters.permissions import Role
from tests.conftest import valid_finess
from tests.delivery.test_dmp import _sign, sandbox  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def dmp_down(monkeypatch):
    """The DMP sender registered against an address where nothing listens (the outage)."""
    monkeypatch.setenv("LIAISON_DMP_URL", f"http://127.0.0.1:{_closed_port()}/")
    monkeypatch.setenv("LIAISON_DMP_TIMEOUT", "2")
    monkeypatch.setattr(worker, "_SENDERS", {})
    dmp.configure(DmpConfig.from_env())


def _fail_for(delivery: Delivery, hours: float) -> None:
    """Time passes: the delivery has been failing for `hours` and is due again."""
    Delivery.objects.filter(pk=delivery.pk).update(
        failing_since=timezone.now() - dt.timedelta(hours=hours), next_attempt_at=timezone.now()
    )


def _given_up_dmp(hospital) -> Delivery:
    letter = _sign(hospital)
    Delivery.objects.filter(letter=letter).exclude(channel="dmp").delete()
    worker.run_once("w1")
    d = Delivery.objects.get(letter=letter, channel="dmp")
    assert d.state == Delivery.State.FAILED and d.failing_since is not None, d.last_error
    _fail_for(d, 72)
    worker.run_once("w1")
    d.refresh_from_db()
    assert d.state == Delivery.State.GIVEN_UP
    return d


def test_a_delivery_still_retries_after_71_hours_and_is_given_up_at_72(hospital, dmp_down):
    letter = _sign(hospital)
    Delivery.objects.filter(letter=letter).exclude(channel="dmp").delete()
    worker.run_once("w1")
    d = Delivery.objects.get(letter=letter)
    first = d.failing_since
    assert d.state == Delivery.State.FAILED and "DMP" in d.last_error
    _fail_for(d, 71)
    worker.run_once("w1")
    d.refresh_from_db()
    assert d.state == Delivery.State.FAILED  # still retried
    assert d.next_attempt_at - timezone.now() <= outbox.BACKOFF_MAX
    assert d.failing_since < first  # the window is kept across attempts
    _fail_for(d, 72)
    worker.run_once("w1")
    d.refresh_from_db()
    assert d.state == Delivery.State.GIVEN_UP and d.last_error


def _page(client: Client) -> str:
    r = client.get("/envois/echecs/")
    assert r.status_code == 200
    return r.content.decode()


def test_given_up_delivery_is_listed_and_renvoyer_requeues_it_then_the_worker_files_it(
    hospital,
    dmp_down,
    sandbox,  # noqa: F811
    monkeypatch,
):
    d = _given_up_dmp(hospital)
    admin = hospital["users"][Role.ADMIN_ETABLISSEMENT.value]
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin)
    html = _page(client)
    assert "Abandonné" in html and "DMP du patient" in html and d.letter.document_oid in html
    assert "Cardiologie" in html and "Renvoyer" in html
    assert "injoignable" in html or "DMP" in html  # the reason
    # nothing of the patient: name, INS, IPP, visit number, clinical content
    patient = hospital["patient"]
    for secret in (patient.ins_matricule, patient.birth_family_name, patient.ipp, "V001", "Décompensation"):
        assert secret not in html, secret
    assert "Envois en échec" in html  # in the navigation

    # without the CSRF token: refused, nothing requeued
    assert client.post(f"/envois/{d.pk}/renvoyer/").status_code == 403
    d.refresh_from_db()
    assert d.state == Delivery.State.GIVEN_UP

    # the DMP is back (the sandbox knows the patient): one click, then the worker sends it
    box, url = sandbox
    box.patients.ins.add(hospital["patient"].ins_matricule)
    monkeypatch.setenv("LIAISON_DMP_URL", url)
    dmp.configure(DmpConfig.from_env())
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    r = client.post(f"/envois/{d.pk}/renvoyer/", {"csrfmiddlewaretoken": token}, follow=True)
    assert r.status_code == 200 and "Envoi remis en file" in r.content.decode()
    d.refresh_from_db()
    assert d.state == Delivery.State.PENDING and d.attempts == 0 and d.failing_since is None
    assert "Aucun envoi en échec" in r.content.decode()
    trace = AuditEvent.objects.get(action="resend")
    assert trace.username == admin.username and trace.patient_id == hospital["patient"].pk
    assert trace.details["delivery"] == d.pk
    assert d.events.filter(detail__startswith=f"renvoyé par {admin.username}").exists()

    assert worker.run_once("w1") == 1
    d.refresh_from_db()
    assert d.state == Delivery.State.DELIVERED, d.last_error
    filed = box.store.documents(hospital["patient"].ins_matricule)
    assert [doc["uniqueId"] for doc in filed] == [d.letter.document_oid]


def test_a_delivery_failing_for_more_than_an_hour_is_listed_not_before(hospital, dmp_down, client):
    letter = _sign(hospital)
    Delivery.objects.filter(letter=letter).exclude(channel="dmp").delete()
    worker.run_once("w1")
    d = Delivery.objects.get(letter=letter)
    client.force_login(hospital["users"][Role.ADMIN_ETABLISSEMENT.value])
    assert "Aucun envoi en échec" in _page(client)
    Delivery.objects.filter(pk=d.pk).update(failing_since=timezone.now() - dt.timedelta(minutes=61))
    html = _page(client)
    assert "Échec, nouvel essai prévu" in html and "prochain essai" in html
    r = client.post(f"/envois/{d.pk}/renvoyer/")  # the test client skips CSRF checks
    assert r.status_code == 302
    d.refresh_from_db()
    assert d.state == Delivery.State.PENDING


@pytest.mark.parametrize("role", [r.value for r in Role if r != Role.ADMIN_ETABLISSEMENT])
def test_every_other_role_is_refused_the_page_and_the_post(hospital, dmp_down, client, role):
    d = _given_up_dmp(hospital)
    client.force_login(hospital["users"][role])
    r = client.get("/envois/echecs/")
    assert r.status_code == 403
    assert client.post(f"/envois/{d.pk}/renvoyer/").status_code == 403
    d.refresh_from_db()
    assert d.state == Delivery.State.GIVEN_UP
    assert "Envois en échec" not in client.get("/").content.decode()
    assert AuditEvent.objects.filter(action="refused", object_id="/envois/echecs/").exists()


def test_anonymous_is_sent_to_login(hospital, dmp_down, client):
    d = _given_up_dmp(hospital)
    assert client.get("/envois/echecs/")["Location"].startswith("/connexion/")
    assert client.post(f"/envois/{d.pk}/renvoyer/")["Location"].startswith("/connexion/")
    d.refresh_from_db()
    assert d.state == Delivery.State.GIVEN_UP


def test_another_establishments_administrator_sees_and_resends_nothing(hospital, dmp_down, client):
    from django.contrib.auth.models import Group, User

    d = _given_up_dmp(hospital)
    other = Establishment.objects.create(
        name="CH Voisin", finess_ej=valid_finess(7), finess_eg=valid_finess(8)
    )
    user = User.objects.create_user("admin_voisin", password="x")
    user.groups.add(Group.objects.get(name=Role.ADMIN_ETABLISSEMENT.value))
    UserProfile.objects.create(user=user, establishment=other)
    client.force_login(user)
    assert "Aucun envoi en échec" in _page(client)
    assert client.post(f"/envois/{d.pk}/renvoyer/").status_code == 404
    d.refresh_from_db()
    assert d.state == Delivery.State.GIVEN_UP
