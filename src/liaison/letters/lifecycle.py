"""The letter lifecycle, every rule in one place.

A signature is three steps of one transaction, run by `liaison.signing` (the floor above, which
also checks the delivery plan and queues the deliveries): `open_signature` locks the draft and
checks the signer, `refuse_if_blocked` refuses with the reasons, `freeze` produces and validates
the CDA and the PDF (`rendering`) and freezes the signed version; an invalid CDA blocks it.

draft ──sign──► signed ──hand_over──► (handed over)
                  └──start_correction──► new draft (version n+1, replaces n) ──sign──► n superseded

Rules: only a physician (or a sage-femme for an obstetric stay) signs; a signed letter is
immutable; a correction is a new version; a stale edit is refused (optimistic locking on
`Letter.revision`) and nothing already saved is lost; each step leaves an audit row.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Sequence

from django.db import IntegrityError, transaction
from django.utils import timezone

from liaison import rowsql
from liaison.core.content import LetterContent, Problem, Professional
from liaison.core.identifiers import IdentifierError, validate_rpps
from liaison.letters import audit, rendering
from liaison.letters.models import (
    PARIS,
    AuditEvent,
    DischargeCheck,
    Letter,
    LetterReview,
    Practitioner,
    Stay,
)
from liaison.letters.permissions import (
    User,
    check_correct,
    check_edit,
    check_hand_over,
    check_sign,
    role_of,
)
from liaison.letters.prefill import apply_stay_facts, initial_content, practitioner_snapshot


class LifecycleError(Exception):
    """A refused lifecycle step; `str(error)` is the French message for the user."""


PLANNED_LABELS = {
    "planned_discharge.at": "Sortie prévue (date et heure)",
    "planned_discharge.exit_mode": "Sortie prévue (modalité)",
}


class FieldError(LifecycleError):
    """A refused value, naming the form field (`field`, a `LetterContent` path)."""

    def __init__(self, field: str, label: str, reason: str):
        super().__init__(f"{label} : {reason}")
        self.field, self.label, self.reason = field, label, reason


def check_planned_discharge(
    before: LetterContent, after: LetterContent, now: dt.datetime | None = None
) -> None:
    """A planned discharge typed (changed) in the past or before the admission is refused."""
    new, old = after.planned_discharge, before.planned_discharge
    if after.discharge_recorded or new is None or new.at is None:
        return
    if old is not None and old.at == new.at:
        return
    label = PLANNED_LABELS["planned_discharge.at"]
    fmt = "%d/%m/%Y à %H:%M"
    if after.admission_at and new.at < after.admission_at:
        entry = timezone.localtime(after.admission_at, PARIS).strftime(fmt)
        raise FieldError("planned_discharge.at", label, f"elle précède l'entrée du {entry}.")
    now = now or timezone.now()
    if new.at < now.replace(second=0, microsecond=0):
        typed = timezone.localtime(new.at, PARIS).strftime(fmt)
        raise FieldError("planned_discharge.at", label, f"le {typed} est déjà passé.")


def check_recipients(content: LetterContent) -> None:
    """A recipient's RPPS is checked by its key (the médecin traitant a physician names is
    identified by it): a wrong one is refused with the field named."""
    for i, r in enumerate(content.recipients):
        if r.rpps:
            try:
                validate_rpps(r.rpps)
            except IdentifierError as exc:
                raise FieldError(f"recipients.{i}.rpps", f"Destinataire {i + 1}, RPPS", str(exc)) from exc


class StaleEditError(LifecycleError):
    """Someone saved the draft since this user loaded it."""

    def __init__(self, letter: Letter):
        who = letter.updated_by.get_username() if letter.updated_by else "un autre utilisateur"
        when = timezone.localtime(letter.updated_at, PARIS).strftime("%H:%M")
        super().__init__(
            f"Cette lettre a été modifiée par {who} à {when} depuis que vous l'avez ouverte. "
            "Vos modifications n'ont pas été enregistrées : rechargez la lettre, puis reportez-les."
        )
        self.current_revision = letter.revision


def content_sha256(content: dict) -> str:
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _dump(content: LetterContent) -> dict:
    return content.model_dump(mode="json")


def _locked(letter_id: int) -> Letter:
    return Letter.objects.select_for_update().select_related("stay__unit", "stay__patient").get(pk=letter_id)


def open_letter(stay: Stay, user: User | None = None) -> Letter:
    """The stay's current letter, or a new draft pre-filled from the stay (idempotent)."""
    existing = stay.current_letter
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            letter = Letter.objects.create(
                stay=stay,
                version=1,
                content=_dump(initial_content(stay)),
                created_by=user if user is not None and user.is_authenticated else None,
            )
            audit.record(user, "create", letter, why="ouverture de la lettre")
            return letter
    except IntegrityError:  # opened concurrently by another request or the ADT listener
        return stay.current_letter


def refresh_from_stay(
    letter: Letter,
    user: User | None = None,
    stay: Stay | None = None,
    why: str = "mise à jour depuis le séjour",
    trace: Callable[[AuditEvent], object] | None = None,
    replan: bool = False,
) -> Letter:
    """Update a draft's GAM-owned parts (identity, dates, modes) after an ADT change.

    The letter row is locked; it is written (revision bumped, so a form loaded before is
    refused, and one audit row) only when its content actually changes. `stay`, when given,
    means the caller (the ADT ingest) has already locked and loaded, in the current transaction,
    both `letter` (the whole row) and its `stay`: they are used as they are. A signed letter is
    never touched. `trace`, when given, receives the audit row instead of it being written now
    (the ingest writes all the rows of a message at once, in the same transaction). `replan`:
    the GAM changed the planned discharge (A16, A25), which the physician confirms again.
    """
    with transaction.atomic(savepoint=False):
        if stay is None:
            letter = _locked(letter.pk)
        else:
            letter.stay = stay
        if letter.status != Letter.Status.DRAFT:
            return letter
        content = _dump(apply_stay_facts(letter.parsed(), letter.stay, replan=replan))
        if content == letter.content:
            return letter
        # The row is locked: the revision read is the current one.
        letter.content, letter.revision = content, letter.revision + 1
        rowsql.update(letter, ["content", "revision", "updated_at"])
        if trace is None:
            audit.record(user, "update", letter, why=why)
        else:
            trace(audit.event(user, "update", letter, why=why))
    return letter


def save_draft(
    letter_id: int, content: LetterContent, expected_revision: int, user: User, why: str = "rédaction"
) -> Letter:
    """Save a draft if nobody else saved it since `expected_revision`; otherwise refuse."""
    with transaction.atomic():
        letter = _locked(letter_id)
        check_edit(user, letter.stay)
        if letter.status != Letter.Status.DRAFT:
            raise LifecycleError(
                "Cette lettre est signée : elle ne peut plus être modifiée. "
                "Ouvrez une correction pour en créer une nouvelle version."
            )
        if letter.revision != expected_revision:
            raise StaleEditError(letter)
        check_recipients(content)
        # Identities and dates stay those of the GAM, whatever the form sent.
        content = apply_stay_facts(content, letter.stay)
        check_planned_discharge(letter.parsed(), content)
        letter.content = _dump(content)
        letter.revision += 1
        letter.updated_by = user
        letter.save(update_fields=["content", "revision", "updated_by", "updated_at"])
        audit.record(user, "update", letter, why=why, details={"revision": letter.revision})
        return letter


def content_to_sign(letter: Letter, signer: Practitioner | None) -> LetterContent:
    """The content as the signature will freeze it: the GAM's facts, and the signer as the
    responsible physician when the stay names none."""
    content = apply_stay_facts(letter.parsed(), letter.stay)
    if content.responsible_physician is None and signer is not None:
        content = content.model_copy(update={"responsible_physician": practitioner_snapshot(signer)})
    return content


def document_blockers(letter: Letter, content: LetterContent, author: Professional) -> list[Problem]:
    """What the CDA build and the ANS validation would refuse at signature (dry run, nothing stored)."""
    try:
        rendering.check(letter, content, author, timezone.now())
    except rendering.DocumentError as exc:
        return [Problem(field="signature", message=str(exc), blocks_signature=True)]
    return []


def preview_content(letter: Letter, signer: Practitioner | None) -> tuple[LetterContent, Professional]:
    """The content the signer's signature would freeze (`content_to_sign`) and its author: the
    signer, else the responsible physician, else a placeholder (a preview before anyone signs)."""
    content = content_to_sign(letter, signer)
    author = practitioner_snapshot(signer) if signer else content.responsible_physician
    return content, author or Professional(family_name="(signataire)")


SIGN_REFUSED = "La lettre ne peut pas être signée : "


def open_signature(letter_id: int, user: User) -> tuple[Letter, LetterContent]:
    """First step of a signature, inside its transaction: the draft locked, the user allowed to
    sign it, and the content the signature will freeze (`content_to_sign`)."""
    letter = _locked(letter_id)  # select_for_update: refused outside a transaction
    check_sign(user, letter.stay)
    if letter.status != Letter.Status.DRAFT:
        raise LifecycleError("Cette lettre est déjà signée.")
    return letter, content_to_sign(letter, user.practitioner)


def refuse_if_blocked(blockers: Sequence[Problem]) -> None:
    """Refuse the signature, every reason given, while anything blocks it."""
    if blockers:
        raise LifecycleError(SIGN_REFUSED + " ".join(p.message for p in blockers))


def freeze(letter: Letter, content: LetterContent, user: User, at: dt.datetime) -> Letter:
    """Last step of a signature, inside its transaction (after `open_signature`): the CDA and the
    PDF produced, validated and stored (`rendering`), the version signed and frozen; the version
    it replaces becomes superseded, an intern's pending submission is answered, one audit row."""
    signer = user.practitioner
    try:
        rendering.produce(letter, content, practitioner_snapshot(signer), at)
    except rendering.DocumentError as exc:
        raise LifecycleError(f"{SIGN_REFUSED}{exc}") from exc
    letter.content = _dump(content)
    letter.content_sha256 = content_sha256(letter.content)
    letter.status = Letter.Status.SIGNED
    letter.signed_at = at
    letter.signed_by = signer
    # Signed on the recorded discharge, or on the planned one until the A03 (`reconcile`).
    letter.discharge_check = (
        DischargeCheck.CONSISTENT if content.discharge_recorded else DischargeCheck.PLANNED
    )
    letter.discharge_checked_at = at
    letter.revision += 1
    letter.updated_by = user
    letter.save()
    if letter.replaces_id:
        Letter.objects.filter(pk=letter.replaces_id).update(status=Letter.Status.SUPERSEDED)
    details = {"sha256": letter.content_sha256}
    # An intern's submission (`letters.review`) is answered by this signature.
    submitted = LetterReview.objects.filter(letter=letter, outcome=LetterReview.Outcome.PENDING)
    for review in submitted.select_related("submitted_by"):
        review.outcome, review.answered_by, review.answered_at = LetterReview.Outcome.SIGNED, user, at
        review.save(update_fields=["outcome", "answered_by", "answered_at"])
        details["soumise_par"] = review.submitted_by.get_username()
    audit.record(user, "sign", letter, why="signature", details=details)
    return letter


def hand_over(
    letter_id: int,
    user: User,
    at: dt.datetime | None = None,
    to: str = "patient",
    understanding_checked: bool = False,
) -> Letter:
    """Record that the signed letter was handed over (to the patient or a relative)."""
    now = timezone.now()
    at = at or now
    with transaction.atomic():
        letter = _locked(letter_id)
        check_hand_over(user, letter.stay)
        if letter.status != Letter.Status.SIGNED:
            raise LifecycleError("Seule une lettre signée (version en vigueur) peut être remise au patient.")
        if letter.handed_over_at is not None:
            when = timezone.localtime(letter.handed_over_at, PARIS).strftime("%d/%m/%Y à %H:%M")
            raise LifecycleError(f"La remise de cette lettre est déjà enregistrée ({when}).")
        if at > now + dt.timedelta(minutes=5):
            raise LifecycleError("L'heure de remise ne peut pas être dans le futur.")
        if letter.signed_at and at < letter.signed_at:
            # The form states the time to the minute: a hand-over in the signature's own minute
            # (the physician who signs then hands over at once) is recorded at the signature.
            if at < letter.signed_at.replace(second=0, microsecond=0):
                raise LifecycleError("L'heure de remise précède la signature de la lettre.")
            at = letter.signed_at
        letter.handed_over_at = at
        letter.handed_over_by = user
        letter.handed_over_role = role_of(user) or ""
        letter.handed_over_to = to
        letter.understanding_checked = understanding_checked
        letter.save(
            update_fields=[
                "handed_over_at",
                "handed_over_by",
                "handed_over_role",
                "handed_over_to",
                "understanding_checked",
                "updated_at",
            ]
        )
        audit.record(user, "hand_over", letter, why="remise au patient", details={"to": to})
        return letter


def start_correction(letter_id: int, user: User, why: str) -> Letter:
    """Open a new draft version that will replace a signed letter once signed."""
    if not why.strip():
        raise LifecycleError("Indiquez le motif de la correction.")
    with transaction.atomic():
        letter = _locked(letter_id)
        check_correct(user, letter.stay)
        if letter.status != Letter.Status.SIGNED:
            raise LifecycleError("Seule la version signée en vigueur peut être corrigée.")
        if Letter.objects.filter(replaces=letter).exists():
            raise LifecycleError("Une correction de cette lettre est déjà en cours.")
        # Pre-filled with what the GAM now says of the discharge (the reason for most corrections).
        replan = letter.discharge_check == DischargeCheck.TO_CORRECT
        content = apply_stay_facts(letter.parsed(), letter.stay, replan=replan)
        new = Letter.objects.create(
            stay=letter.stay,
            version=letter.version + 1,
            replaces=letter,
            content=_dump(content),
            set_oid=letter.set_oid,
            created_by=user,
            updated_by=user,
        )
        audit.record(user, "correct", new, why=why, details={"replaces": letter.pk})
        return new
