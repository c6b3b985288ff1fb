"""The intern's hand-off on screen, for every role: submit to a senior, « à valider » on the
senior's worklist, returned with a comment the intern sees, signed by the senior."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from liaison import signing
from liaison.letters import lifecycle, review
from liaison.letters.models import Letter, LetterReview
from tests.conftest import complete_content_updates

pytestmark = pytest.mark.django_db

ROLES = (
    "medecin",
    "interne",
    "sage_femme",
    "secretaire",
    "infirmier",
    "qualite",
    "admin_etablissement",
    "campagne",
)


@pytest.fixture
def completed(hospital):
    """Today's discharge, its letter completed by the intern."""
    stay = hospital["stay"]
    stay.discharge_at = timezone.now() - dt.timedelta(hours=1)
    stay.admission_at = stay.discharge_at - dt.timedelta(days=3)
    stay.save()
    letter = lifecycle.open_letter(stay)
    content = letter.parsed().model_copy(
        update={**complete_content_updates(), "resistant_organisms_screened": True}
    )
    lifecycle.save_draft(letter.pk, content, letter.revision, hospital["users"]["interne"])
    return hospital, Letter.objects.get(pk=letter.pk)


def _as(client, hospital, role):
    client.logout()
    if role != "anonyme":
        client.force_login(hospital["users"][role])


@pytest.mark.parametrize("role", [*ROLES, "anonyme"])
def test_submit_for_every_role(client, completed, role):
    hospital, letter = completed
    _as(client, hospital, role)
    senior = hospital["users"]["medecin"].practitioner
    resp = client.post(f"/lettres/{letter.pk}/soumettre/", {"senior": str(senior.pk), "note": "Relire"})
    pending = LetterReview.objects.filter(letter=letter, outcome=LetterReview.Outcome.PENDING)
    if role == "interne":
        assert resp.status_code == 302 and pending.get().to == senior
        page = client.get(f"/lettres/{letter.pk}/").content.decode()
        assert 'id="review-state"' in page and "À valider" in page and "Soumettre pour validation" not in page
        return
    assert not pending.exists()
    if role == "anonyme":
        assert resp.status_code == 302 and "/connexion/" in resp["Location"]
    elif role in ("qualite", "admin_etablissement", "campagne"):
        assert resp.status_code == 403  # no access to the unit's patients
    else:
        page = client.get(resp["Location"]).content.decode()
        assert resp.status_code == 302 and ("Seul un interne" in page or "Votre rôle" in page)
        assert "Soumettre pour validation" not in page


@pytest.mark.parametrize("role", [*ROLES, "anonyme"])
def test_return_for_every_role(client, completed, role):
    hospital, letter = completed
    signing.submit(letter.pk, hospital["users"]["interne"])
    _as(client, hospital, role)
    resp = client.post(f"/lettres/{letter.pk}/renvoyer/", {"comment": "Préciser la durée."})
    returned = LetterReview.objects.filter(letter=letter, outcome=LetterReview.Outcome.RETURNED)
    if role == "medecin":
        assert resp.status_code == 302 and returned.get().comment == "Préciser la durée."
        return
    assert not returned.exists()
    if role == "anonyme":
        assert resp.status_code == 302 and "/connexion/" in resp["Location"]
    elif role in ("qualite", "admin_etablissement", "campagne"):
        assert resp.status_code == 403
    else:
        assert resp.status_code == 302  # refused with the reason, shown on the letter page
        page = client.get(resp["Location"]).content.decode()
        assert "Seul un médecin" in page or "Une sage-femme ne peut signer" in page


@pytest.mark.parametrize("role", ROLES)
def test_worklist_sections_for_every_role(client, completed, role):
    """« À valider » for the senior physician only, « Renvoyées » for the intern only."""
    hospital, letter = completed
    signing.submit(letter.pk, hospital["users"]["interne"])
    _as(client, hospital, role)
    page = client.get("/", follow=True).content.decode()
    assert ('id="to-validate"' in page) == (role == "medecin")
    if role in ("medecin", "interne", "sage_femme", "secretaire", "infirmier"):  # the row's state
        assert "state-to_validate" in page and "soumise par u_interne" in page
    else:
        assert "DUPONT" not in page
    review.return_to_intern(letter.pk, hospital["users"]["medecin"], "Préciser la durée du furosémide.")
    page = client.get("/", follow=True).content.decode()
    assert ('id="returned"' in page) == (role == "interne")
    assert 'id="to-validate"' not in page
    if role == "interne":
        assert "Préciser la durée du furosémide." in page


def test_the_senior_sees_who_submitted_and_signs_the_intern_sees_the_comment(client, completed):
    hospital, letter = completed
    _as(client, hospital, "interne")
    page = client.get(f"/lettres/{letter.pk}/").content.decode()
    assert "Soumettre pour validation" in page and "Tout senior du service" in page
    assert "Test MEDECIN" in page  # the unit's senior offered by name
    resp = client.post(f"/lettres/{letter.pk}/soumettre/", {"senior": "tout", "note": "Conciliation faite"})
    assert resp.status_code == 302
    _as(client, hospital, "medecin")
    page = client.get("/").content.decode()
    assert "À valider · 1 lettre soumise par un interne" in page and "Conciliation faite" in page
    page = client.get(f"/lettres/{letter.pk}/").content.decode()
    assert "soumise par u_interne (interne)" in page and "tout senior du service" in page
    assert "Renvoyer à l'interne" in page and "Vérifier et signer" in page
    client.post(f"/lettres/{letter.pk}/renvoyer/", {"comment": "Ajouter le rendez-vous de cardiologie."})
    _as(client, hospital, "interne")
    page = client.get(f"/lettres/{letter.pk}/").content.decode()
    assert "Renvoyée à l'interne" in page and "Ajouter le rendez-vous de cardiologie." in page
    assert "Soumettre pour validation" in page  # he may submit it again
    client.post(f"/lettres/{letter.pk}/soumettre/", {"senior": "tout"})
    _as(client, hospital, "medecin")
    page = client.post(f"/lettres/{letter.pk}/signer/", follow=True).content.decode()
    assert "Lettre signée." in page and "Préparée par u_interne (interne)" in page
    assert LetterReview.objects.get(letter=letter, outcome=LetterReview.Outcome.SIGNED)
