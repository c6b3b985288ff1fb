"""The signing service: blockers, documents and deliveries in one transaction, all or nothing."""

from __future__ import annotations

import pytest

from liaison import signing
from liaison.core.content import Recipient, RecipientRole
from liaison.delivery import outbox
from liaison.delivery.models import Delivery
from liaison.delivery.routing import RoutingError
from liaison.letters import lifecycle
from liaison.letters.models import AuditEvent, Letter, LetterDocument, LetterReview
from tests.conftest import complete_content_updates

pytestmark = pytest.mark.django_db


def _draft(hospital, updates: dict | None = None) -> Letter:
    letter = lifecycle.open_letter(hospital["stay"])
    content = letter.parsed().model_copy(update={**complete_content_updates(), **(updates or {})})
    return lifecycle.save_draft(letter.pk, content, letter.revision, hospital["users"]["medecin"])


def _signatures(letter: Letter) -> int:
    return AuditEvent.objects.filter(object_type="letter", object_id=str(letter.pk), action="sign").count()


def _nothing_signed(draft: Letter) -> None:
    letter = Letter.objects.get(pk=draft.pk)
    assert (letter.status, letter.revision, letter.signed_at) == (Letter.Status.DRAFT, draft.revision, None)
    assert not LetterDocument.objects.filter(letter=letter).exists()
    assert not Delivery.objects.filter(letter=letter).exists()
    assert _signatures(letter) == 0


def test_the_signature_queues_its_deliveries_and_leaves_one_audit_row(hospital):
    draft = _draft(hospital)
    signed = signing.sign(draft.pk, hospital["users"]["medecin"])
    assert signed.status == Letter.Status.SIGNED and signed.document.cda_sha256
    assert {d.recipient_role for d in signed.deliveries.all()} == {"dmp", "medecin_traitant", "patient"}
    assert _signatures(signed) == 1


def test_a_failure_while_queueing_rolls_the_signature_back(hospital, monkeypatch):
    draft = _draft(hospital)
    real_queue = outbox.queue

    def queue_then_fail(letter, content):  # the deliveries written, then the database fails
        real_queue(letter, content)
        raise RuntimeError("connexion perdue")

    monkeypatch.setattr(outbox, "queue", queue_then_fail)
    with pytest.raises(RuntimeError):
        signing.sign(draft.pk, hospital["users"]["medecin"])
    _nothing_signed(draft)


def test_a_routing_refused_at_queueing_is_a_refused_signature_in_french(hospital, monkeypatch):
    draft = _draft(hospital)

    def refuse(letter, content):
        raise RoutingError("masquage interdit par la matrice ANS")

    monkeypatch.setattr(outbox, "queue", refuse)
    with pytest.raises(lifecycle.LifecycleError) as refused:
        signing.sign(draft.pk, hospital["users"]["medecin"])
    assert str(refused.value) == "La lettre ne peut pas être signée : masquage interdit par la matrice ANS"
    _nothing_signed(draft)


def test_the_delivery_plan_blocks_the_signature_before_any_document(hospital):
    nowhere = Recipient(role=RecipientRole.MEDECIN_TRAITANT, name="Dr Sans Adresse")
    draft = _draft(hospital, {"recipients": [nowhere]})
    blockers = signing.signature_blockers(draft.parsed())
    assert [p.field for p in blockers] == ["recipients.0.mssante"]
    with pytest.raises(lifecycle.LifecycleError, match="^La lettre ne peut pas être signée : .*MSSanté"):
        signing.sign(draft.pk, hospital["users"]["medecin"])
    _nothing_signed(draft)
    ready = signing.readiness(draft, hospital["users"]["medecin"])
    assert ready.blockers == blockers and ready.plan.blockers
    assert (ready.may_sign, ready.refusal) == (True, "")
    secretary = signing.readiness(draft, hospital["users"]["secretaire"])
    assert secretary.blockers == blockers and not secretary.may_sign and "médecin" in secretary.refusal


def test_an_interns_submission_is_refused_for_the_delivery_plan_too(hospital):
    nowhere = Recipient(role=RecipientRole.MEDECIN_TRAITANT, name="Dr Sans Adresse")
    draft = _draft(hospital, {"recipients": [nowhere], "resistant_organisms_screened": True})
    with pytest.raises(lifecycle.LifecycleError, match="^Complétez la lettre .*aucune adresse MSSanté"):
        signing.submit(draft.pk, hospital["users"]["interne"])
    assert not LetterReview.objects.exists()

