"""The letter lifecycle: draft → signed → handed over; corrections; optimistic locking."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from liaison import signing
from liaison.core.content import LetterContent, RecipientRole
from liaison.letters import lifecycle
from liaison.letters.models import AuditEvent, Letter
from liaison.letters.permissions import PermissionDeniedFr
from tests.conftest import complete_content_updates, paris

pytestmark = pytest.mark.django_db


def _complete_draft(hospital) -> Letter:
    letter = lifecycle.open_letter(hospital["stay"], hospital["users"]["medecin"])
    content = letter.parsed().model_copy(update=complete_content_updates())
    return lifecycle.save_draft(letter.pk, content, letter.revision, hospital["users"]["medecin"])


def test_open_letter_is_prefilled_from_the_stay(hospital):
    letter = lifecycle.open_letter(hospital["stay"], hospital["users"]["secretaire"])
    c = letter.parsed()
    assert c.patient.birth_family_name == "DUPONT"
    assert c.patient.ins_matricule == hospital["patient"].ins_matricule
    assert c.medecin_traitant.family_name == "Généraliste"
    assert c.admission_at == hospital["stay"].admission_at
    assert c.entry_mode == "urgence" and c.exit_mode == "domicile"
    roles = {r.role for r in c.recipients}
    assert roles == {RecipientRole.MEDECIN_TRAITANT, RecipientRole.PATIENT}
    patient_rcpt = next(r for r in c.recipients if r.role == RecipientRole.PATIENT)
    assert patient_rcpt.mssante == f"{hospital['patient'].ins_matricule}@patient.mssante.fr"
    # idempotent: a second open returns the same draft
    assert lifecycle.open_letter(hospital["stay"]).pk == letter.pk


def test_sign_freezes_the_letter(hospital):
    letter = _complete_draft(hospital)
    signed = signing.sign(letter.pk, hospital["users"]["medecin"], at=paris(2026, 11, 14, 14))
    assert signed.status == Letter.Status.SIGNED
    assert signed.signed_by == hospital["users"]["medecin"].practitioner
    assert len(signed.content_sha256) == 64
    with pytest.raises(lifecycle.LifecycleError, match="signée : elle ne peut plus être modifiée"):
        lifecycle.save_draft(signed.pk, signed.parsed(), signed.revision, hospital["users"]["medecin"])
    # even bypassing the lifecycle, the model refuses a change of a signed letter
    fresh = Letter.objects.get(pk=signed.pk)
    fresh.content = {**fresh.content, "reason": "autre"}
    with pytest.raises(ValidationError, match="immuable"):
        fresh.save()
    assert Letter.objects.get(pk=signed.pk).parsed().reason == "Décompensation cardiaque"


@pytest.mark.parametrize("role", ["interne", "secretaire", "infirmier", "qualite"])
def test_only_a_physician_signs(hospital, role):
    letter = _complete_draft(hospital)
    with pytest.raises(PermissionDeniedFr):
        signing.sign(letter.pk, hospital["users"][role])
    assert Letter.objects.get(pk=letter.pk).status == Letter.Status.DRAFT


def test_sage_femme_signs_only_obstetric_letters(hospital):
    letter = _complete_draft(hospital)  # cardiology stay
    with pytest.raises(PermissionDeniedFr, match="obstétrique"):
        signing.sign(letter.pk, hospital["users"]["sage_femme"])
    stay = hospital["stay"]
    stay.unit = hospital["mater"]
    stay.save()
    signed = signing.sign(letter.pk, hospital["users"]["sage_femme"])
    assert signed.status == Letter.Status.SIGNED


def test_incomplete_letter_cannot_be_signed(hospital):
    letter = lifecycle.open_letter(hospital["stay"], hospital["users"]["medecin"])
    with pytest.raises(lifecycle.LifecycleError, match="Motif de l'hospitalisation absent"):
        signing.sign(letter.pk, hospital["users"]["medecin"])


def test_stale_edit_is_refused_and_saved_work_is_kept(hospital):
    letter = lifecycle.open_letter(hospital["stay"], hospital["users"]["medecin"])
    rev = letter.revision
    first = letter.parsed().model_copy(update={"reason": "Premier motif"})
    lifecycle.save_draft(letter.pk, first, rev, hospital["users"]["secretaire"])
    second = letter.parsed().model_copy(update={"reason": "Motif concurrent"})
    with pytest.raises(lifecycle.StaleEditError, match="modifiée par u_secretaire"):
        lifecycle.save_draft(letter.pk, second, rev, hospital["users"]["medecin"])
    assert Letter.objects.get(pk=letter.pk).parsed().reason == "Premier motif"


def test_hand_over_in_the_signature_minute_is_recorded_at_the_signature(hospital):
    """The hand-over form states the time to the minute (its default is now): handing over in the
    minute of the signature is not « before the signature »; a minute earlier still is."""
    letter = _complete_draft(hospital)
    signed_at = paris(2026, 11, 14, 14, 0) + dt.timedelta(seconds=40)
    signing.sign(letter.pk, hospital["users"]["medecin"], at=signed_at)
    with pytest.raises(lifecycle.LifecycleError, match="précède la signature"):
        lifecycle.hand_over(letter.pk, hospital["users"]["infirmier"], at=paris(2026, 11, 14, 13, 59))
    done = lifecycle.hand_over(letter.pk, hospital["users"]["infirmier"], at=paris(2026, 11, 14, 14, 0))
    assert done.handed_over_at == signed_at


def test_gam_owned_fields_cannot_be_overwritten_by_the_form(hospital):
    letter = lifecycle.open_letter(hospital["stay"], hospital["users"]["medecin"])
    forged = letter.parsed().model_copy(deep=True)
    forged.patient.birth_family_name = "AUTRE"
    saved = lifecycle.save_draft(letter.pk, forged, letter.revision, hospital["users"]["medecin"])
    assert saved.parsed().patient.birth_family_name == "DUPONT"


def test_hand_over_records_who_and_when(hospital):
    letter = _complete_draft(hospital)
    with pytest.raises(lifecycle.LifecycleError, match="Seule une lettre signée"):
        lifecycle.hand_over(letter.pk, hospital["users"]["infirmier"])
    signing.sign(letter.pk, hospital["users"]["medecin"], at=paris(2026, 11, 14, 14))
    with pytest.raises(lifecycle.LifecycleError, match="précède la signature"):
        lifecycle.hand_over(letter.pk, hospital["users"]["infirmier"], at=paris(2026, 11, 14, 13))
    done = lifecycle.hand_over(
        letter.pk, hospital["users"]["infirmier"], at=paris(2026, 11, 14, 14, 30), understanding_checked=True
    )
    assert done.handed_over_at == paris(2026, 11, 14, 14, 30)
    assert done.handed_over_by == hospital["users"]["infirmier"]
    assert done.handed_over_role == "infirmier" and done.understanding_checked
    with pytest.raises(lifecycle.LifecycleError, match="déjà enregistrée"):
        lifecycle.hand_over(letter.pk, hospital["users"]["infirmier"])
    with pytest.raises(PermissionDeniedFr):
        lifecycle.hand_over(letter.pk, hospital["users"]["qualite"])


def test_correction_creates_a_new_version_that_replaces_the_old(hospital):
    letter = _complete_draft(hospital)
    v1 = signing.sign(letter.pk, hospital["users"]["medecin"])
    with pytest.raises(lifecycle.LifecycleError, match="motif de la correction"):
        lifecycle.start_correction(v1.pk, hospital["users"]["medecin"], "")
    v2 = lifecycle.start_correction(v1.pk, hospital["users"]["interne"], "Résultat de biologie reçu")
    assert (v2.version, v2.replaces_id, v2.status) == (2, v1.pk, Letter.Status.DRAFT)
    assert v2.set_oid == v1.set_oid and v2.document_oid != v1.document_oid
    with pytest.raises(lifecycle.LifecycleError, match="déjà en cours"):
        lifecycle.start_correction(v1.pk, hospital["users"]["medecin"], "encore")
    content = v2.parsed().model_copy(update={"medical_summary": "Synthèse corrigée."})
    v2 = lifecycle.save_draft(v2.pk, content, v2.revision, hospital["users"]["interne"])
    signing.sign(v2.pk, hospital["users"]["medecin"])
    assert Letter.objects.get(pk=v1.pk).status == Letter.Status.SUPERSEDED
    assert Letter.objects.get(pk=v1.pk).parsed().medical_summary.startswith("Insuffisance")
    assert hospital["stay"].current_letter.pk == v2.pk


def test_every_step_leaves_an_audit_row(hospital):
    letter = _complete_draft(hospital)
    signing.sign(letter.pk, hospital["users"]["medecin"])
    lifecycle.hand_over(letter.pk, hospital["users"]["infirmier"])
    rows = list(
        AuditEvent.objects.filter(object_type="letter", object_id=str(letter.pk)).order_by("at", "id")
    )
    assert [r.action for r in rows] == ["create", "update", "sign", "hand_over"]
    assert rows[2].username == "u_medecin" and rows[2].role == "medecin"
    assert rows[3].role == "infirmier" and rows[3].patient_id == hospital["patient"].pk


def test_content_round_trips_through_json(hospital):
    letter = _complete_draft(hospital)
    again = Letter.objects.get(pk=letter.pk).parsed()
    assert isinstance(again, LetterContent)
    assert again == LetterContent.model_validate(letter.content)
    assert again.medications[0].reason == "Posologie doublée : surcharge"
