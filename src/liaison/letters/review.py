"""The intern's path: a draft handed to a senior of the unit, who signs it or returns it.

interne ──submit(to a senior, or any senior of the unit)──► « à valider »
   ▲                                                         │
   └──────────── return (with a comment) ◄───────────────────┤
                                                             └─sign (`signing.sign`)──► signed

An intern cannot sign (`permissions.check_sign`): the senior signs, as author and legal signer;
the intern is named in the letter as who prepared it (`LetterContent.prepared_by`, shown in the
PDF). Each step is one `LetterReview` row (history kept) and one audit row (submit, return,
sign).
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from liaison.core.content import LetterContent, Problem
from liaison.letters import audit
from liaison.letters.lifecycle import LifecycleError, _locked, content_to_sign, save_draft
from liaison.letters.models import Letter, LetterReview, Practitioner, Profession, Stay
from liaison.letters.permissions import Role, User, check_review, check_submit, role_of, unit_ids
from liaison.letters.prefill import practitioner_snapshot

NOTE_MAX = 500
COMMENT_MAX = 2000


def seniors(stay: Stay) -> QuerySet[Practitioner]:
    """The physicians of the stay's unit who may sign it: a user with the role médecin working in
    the unit (his profile's units, what gives access to its patients) and an RPPS."""
    return (
        Practitioner.objects.filter(
            user__profile__units=stay.unit_id,
            profession=Profession.MEDECIN,
            user__groups__name=Role.MEDECIN.value,
            user__is_active=True,
        )
        .exclude(rpps__isnull=True)
        .exclude(rpps="")
        .distinct()
        .order_by("family_name", "given_name")
    )


def pending(letter: Letter) -> LetterReview | None:
    return (
        letter.reviews.filter(outcome=LetterReview.Outcome.PENDING)
        .select_related("to", "submitted_by")
        .first()
    )


def latest(letter: Letter) -> LetterReview | None:
    return (
        letter.reviews.select_related("to", "submitted_by", "answered_by").order_by("-submitted_at").first()
    )


def submit(
    letter_id: int,
    user: User,
    to: int | None = None,
    note: str = "",
    *,
    blockers: Callable[[LetterContent], list[Problem]],
) -> LetterReview:
    """The intern submits his draft to a senior (`to`, a practitioner id) or to any senior of the unit.

    `blockers` says what the senior's signature would refuse (`signing.signature_blockers`, which
    knows the delivery plan): call `signing.submit`, which passes it."""
    note = note.strip()
    if len(note) > NOTE_MAX:
        raise LifecycleError(f"Message au senior trop long ({len(note)} caractères, {NOTE_MAX} au plus).")
    with transaction.atomic():
        letter = _locked(letter_id)
        stay = letter.stay
        check_submit(user, stay)
        if letter.status != Letter.Status.DRAFT:
            raise LifecycleError("Cette lettre est déjà signée.")
        if letter.reviews.filter(outcome=LetterReview.Outcome.PENDING).exists():
            raise LifecycleError("Cette lettre est déjà soumise à un senior : elle attend sa validation.")
        candidates = seniors(stay)
        senior = None
        if to is not None:
            senior = candidates.filter(pk=to).first()
            if senior is None:
                raise LifecycleError(
                    "Ce médecin n'est pas un senior du service : choisissez-en un dans la liste."
                )
        elif not candidates.exists():
            raise LifecycleError(
                "Aucun médecin senior n'est rattaché à ce service : la lettre ne peut pas lui être soumise."
            )
        # What the senior's signature would still refuse (the signer fills in the responsible
        # physician when the stay names none): the intern completes it first.
        signer = senior or candidates.first()
        refused = blockers(content_to_sign(letter, signer))
        if refused:
            raise LifecycleError(
                "Complétez la lettre avant de la soumettre : " + " ".join(p.message for p in refused)
            )
        intern = getattr(user, "practitioner", None)
        if intern is not None:
            content = letter.parsed().model_copy(update={"prepared_by": practitioner_snapshot(intern)})
            letter = save_draft(letter.pk, content, letter.revision, user, why="préparée par l'interne")
        review = LetterReview.objects.create(
            letter=letter, submitted_by=user, submitted_at=timezone.now(), to=senior, note=note
        )
        audit.record(
            user,
            "submit",
            letter,
            why="soumise à un senior",
            details={"a": str(senior) if senior else "tout senior du service", "message": note},
        )
        return review


def return_to_intern(letter_id: int, user: User, comment: str) -> LetterReview:
    """The senior returns the submitted draft with a comment the intern sees."""
    comment = comment.strip()
    if not comment:
        raise LifecycleError("Indiquez à l'interne ce qui est à reprendre.")
    if len(comment) > COMMENT_MAX:
        raise LifecycleError(f"Commentaire trop long ({len(comment)} caractères, {COMMENT_MAX} au plus).")
    with transaction.atomic():
        letter = _locked(letter_id)
        check_review(user, letter.stay)
        review = letter.reviews.select_for_update().filter(outcome=LetterReview.Outcome.PENDING).first()
        if review is None or letter.status != Letter.Status.DRAFT:
            raise LifecycleError("Cette lettre n'attend pas de validation.")
        review.outcome = LetterReview.Outcome.RETURNED
        review.answered_by, review.answered_at, review.comment = user, timezone.now(), comment
        review.save(update_fields=["outcome", "answered_by", "answered_at", "comment"])
        audit.record(user, "return", letter, why="renvoyée à l'interne", details={"commentaire": comment})
        return review


def to_validate(user: User) -> QuerySet[LetterReview]:
    """The submissions waiting for this senior: addressed to him, or to any senior of his units."""
    practitioner = getattr(user, "practitioner", None) if user.is_authenticated else None
    if practitioner is None or role_of(user) != Role.MEDECIN:
        return LetterReview.objects.none()
    mine = Q(to=practitioner) | Q(to__isnull=True, letter__stay__unit_id__in=unit_ids(user))
    return (
        LetterReview.objects.filter(
            mine, outcome=LetterReview.Outcome.PENDING, letter__status=Letter.Status.DRAFT
        )
        .filter(letter__stay__unit_id__in=unit_ids(user), letter__stay__cancelled=False)
        .select_related("letter__stay__patient", "letter__stay__unit", "submitted_by", "to")
        .order_by("submitted_at")
    )


def returned_to(user: User) -> list[LetterReview]:
    """The intern's submissions a senior returned, while the letter is a draft not resubmitted
    (the latest return of each letter)."""
    if role_of(user) != Role.INTERNE:
        return []
    resubmitted = LetterReview.objects.filter(outcome=LetterReview.Outcome.PENDING).values("letter_id")
    rows = (
        LetterReview.objects.filter(
            submitted_by=user,
            outcome=LetterReview.Outcome.RETURNED,
            letter__status=Letter.Status.DRAFT,
            letter__stay__unit_id__in=unit_ids(user),
            letter__stay__cancelled=False,
        )
        .exclude(letter_id__in=resubmitted)
        .select_related("letter__stay__patient", "letter__stay__unit", "answered_by")
        .order_by("-answered_at")[:100]
    )
    seen: set[int] = set()
    out = []
    for r in rows:
        if r.letter_id not in seen:
            seen.add(r.letter_id)
            out.append(r)
    return out
