"""The web shell through Django's test client: login, the stays of one's units, the letter page
and its lifecycle buttons, with French errors."""

from __future__ import annotations

import pytest

from liaison.letters import lifecycle
from liaison.letters.models import AuditEvent, Letter
from tests.conftest import complete_content_updates

pytestmark = pytest.mark.django_db


def _login(client, hospital, role):
    client.force_login(hospital["users"][role])


def test_login_page_and_redirect(client, hospital):
    resp = client.get("/")
    assert resp.status_code == 302 and "/connexion/" in resp["Location"]
    resp = client.post("/connexion/", {"username": "u_medecin", "password": "x"})
    assert resp.status_code == 302
    assert "DUPONT" in client.get("/").content.decode()


def test_stays_list_shows_state_and_is_audited(client, hospital):
    _login(client, hospital, "secretaire")
    page = client.get("/").content.decode()
    assert "DUPONT Marie" in page and "Aucune lettre" in page
    assert AuditEvent.objects.filter(action="list", username="u_secretaire").exists()


def test_quality_role_sees_no_patient(client, hospital):
    _login(client, hospital, "qualite")
    page = client.get("/").content.decode()
    assert "DUPONT" not in page and "ne donne pas accès aux dossiers" in page
    letter = lifecycle.open_letter(hospital["stay"])
    assert client.get(f"/lettres/{letter.pk}/").status_code == 403


def test_sign_and_hand_over_from_the_letter_page(client, hospital):
    _login(client, hospital, "medecin")
    resp = client.get(f"/sejours/{hospital['stay'].pk}/lettre/")
    letter = Letter.objects.get(stay=hospital["stay"])
    assert resp["Location"] == f"/lettres/{letter.pk}/"
    page = client.get(resp["Location"]).content.decode()
    assert "Motif de l&#x27;hospitalisation absent" in page  # what is missing, said plainly
    resp = client.post(f"/lettres/{letter.pk}/signer/", follow=True)
    assert "ne peut pas être signée" in resp.content.decode()
    lifecycle.save_draft(
        letter.pk,
        letter.parsed().model_copy(update=complete_content_updates()),
        letter.revision,
        hospital["users"]["medecin"],
    )
    resp = client.post(f"/lettres/{letter.pk}/signer/", follow=True)
    assert "Lettre signée." in resp.content.decode()
    client.force_login(hospital["users"]["infirmier"])
    resp = client.post(f"/lettres/{letter.pk}/remise/", {"understanding_checked": "on"}, follow=True)
    assert "Remise au patient enregistrée." in resp.content.decode()
    letter.refresh_from_db()
    assert letter.handed_over_at and letter.understanding_checked
    assert AuditEvent.objects.filter(action="read", object_id=str(letter.pk)).exists()


def test_interne_cannot_sign_from_the_page(client, hospital):
    letter = lifecycle.open_letter(hospital["stay"])
    _login(client, hospital, "interne")
    resp = client.post(f"/lettres/{letter.pk}/signer/", follow=True)
    assert "Seul un médecin de l&#x27;établissement peut signer" in resp.content.decode()
    assert Letter.objects.get(pk=letter.pk).status == Letter.Status.DRAFT


def test_letter_page_shows_the_qls_check(client, hospital):
    letter = lifecycle.open_letter(hospital["stay"])
    client.force_login(hospital["users"]["medecin"])
    page = client.get(f"/lettres/{letter.pk}/").content.decode()
    assert "Contrôle QLS" in page and "Dossier non conforme" in page
    assert "Traitement médicamenteux de sortie" in page
