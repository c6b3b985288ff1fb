"""The stay's record as `liaison.clinical.draft` reads it, and the service that drafts a letter.

`refresh_draft` is what opening a letter and « Reprendre les données du dossier » call: the
letter row is locked, the record read, the proposals merged (`draft.merge`), and the draft
written (revision bumped, one audit row) only when something changed.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import transaction

from liaison.clinical import draft
from liaison.clinical.models import Allergy, Diagnosis, LabResult, Prescription, Procedure, SourcedFact
from liaison.core.content import LetterContent
from liaison.letters import audit
from liaison.letters.models import Letter, Stay
from liaison.letters.permissions import User


def _fact(row: SourcedFact) -> dict:
    return {"message": row.source_kind, "at": row.source_at, "author": row.source_author}


def load(stay: Stay | int) -> draft.Record:
    stay_id = stay if isinstance(stay, int) else stay.pk
    results = [
        draft.Result(
            **_fact(r),
            code=r.code,
            label=r.label or r.test_label,
            value=r.value,
            unit=r.unit,
            reference_range=r.reference_range,
            flag=r.abnormal_flag,
            status=r.status,
            observed_at=r.observed_at,
        )
        for r in LabResult.objects.filter(stay_id=stay_id).order_by("observed_at", "id")
    ]
    medicines = [
        draft.Medicine(
            **_fact(p),
            kind=p.kind,
            active=p.state == Prescription.State.ACTIVE,
            name=p.medicine,
            cis=p.cis,
            atc=p.atc,
            dosage=p.dosage,
            route=p.route,
            duration=p.duration,
        )
        for p in Prescription.objects.filter(stay_id=stay_id).order_by("id")
    ]
    diagnoses = [
        draft.Coding(**_fact(d), code=d.code, label=d.label, principal=d.principal)
        for d in Diagnosis.objects.filter(stay_id=stay_id).order_by("-principal", "id")
    ]
    procedures = [
        draft.Coding(**_fact(p), code=p.code, label=p.label, performed_at=p.performed_at)
        for p in Procedure.objects.filter(stay_id=stay_id).order_by("performed_at", "id")
    ]
    allergies = [
        draft.AllergyFact(**_fact(a), label=a.label, kind=a.kind, severity=a.severity, reaction=a.reaction)
        for a in Allergy.objects.filter(stay_id=stay_id).order_by("id")
    ]
    return draft.Record(results, medicines, diagnoses, procedures, allergies)


def _change(
    letter_id: int, user: User | None, why: str, change: Callable[[LetterContent, Letter], LetterContent]
) -> Letter:
    with transaction.atomic():
        letter = Letter.objects.select_for_update().select_related("stay").get(pk=letter_id)
        if letter.status != Letter.Status.DRAFT:
            return letter
        before = letter.parsed()
        after = change(before, letter)
        if after == before:
            return letter
        letter.content = after.model_dump(mode="json")
        letter.revision += 1
        if user is not None and user.is_authenticated:
            letter.updated_by = user
        letter.save(update_fields=["content", "revision", "updated_by", "updated_at"])
        audit.record(user, "update", letter, why=why, details={"revision": letter.revision})
        return letter


def refresh_draft(letter_id: int, user: User | None = None) -> Letter:
    """Propose the record's data in the draft (written into untouched sections, beside the others)."""
    return _change(
        letter_id,
        user,
        "pré-remplissage depuis le dossier du séjour",
        lambda content, letter: draft.merge(content, draft.proposals(load(letter.stay_id))),
    )


def take_update(letter_id: int, user: User, section: str, accept: bool) -> Letter:
    """The physician takes (or sets aside) the newer record data proposed beside a section."""
    if accept:
        return _change(
            letter_id,
            user,
            f"reprise des données du dossier ({section})",
            lambda c, _: draft.accept_update(c, section),
        )
    return _change(
        letter_id,
        user,
        f"données du dossier écartées ({section})",
        lambda c, _: draft.dismiss_update(c, section),
    )
