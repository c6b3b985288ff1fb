"""Today's discharges per unit: each stay's letter state, what is missing and who must act.

Rows: stays discharged today (or planned to leave today), plus yesterday's discharges whose
letter is not yet signed and handed over, plus every stay whose signed letter must be corrected
because the recorded discharge differs from it (`letters.reconcile`). "Today" is the calendar
day in Europe/Paris (`liaison.core.paris.paris_days`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from liaison.core.paris import paris_days
from liaison.letters.models import PARIS, DischargeCheck, Letter, LetterReview, Stay
from liaison.web import deliveries
from liaison.web.live import Panel, build_panel

# state code → (French label, who must act)
STATES: dict[str, tuple[str, str]] = {
    "none": ("Aucune lettre", "Médecin ou interne : ouvrir et rédiger la lettre"),
    "draft": ("Brouillon", "Médecin, interne ou secrétaire : compléter la lettre"),
    "ready": ("Prête à signer", "Médecin : vérifier et signer"),
    "to_validate": ("À valider", "Médecin senior : relire, signer ou renvoyer à l'interne"),
    "returned": ("Renvoyée à l'interne", "Interne : reprendre la lettre selon le commentaire du senior"),
    "signed": ("Signée", "Équipe de soins : remettre la lettre au patient"),
    "to_correct": (
        "Lettre à corriger : la sortie enregistrée diffère",
        "Médecin : ouvrir la correction (pré-remplie par le GAM) et la signer",
    ),
    "handed_over": ("Remise au patient", ""),
    "sent": ("Remise et envoyée", ""),
    "acknowledged": ("Remise, envoyée et reçue", ""),
}


@dataclass
class Row:
    stay: Stay
    letter: Letter | None
    state: str
    panel: Panel | None
    late: bool  # an earlier day's discharge still unfinished, or a hand-over after the discharge day
    handed_over_late_days: int = 0
    review: LetterReview | None = None  # the intern's latest submission of a draft

    @property
    def state_label(self) -> str:
        return STATES[self.state][0]

    @property
    def actor(self) -> str:
        return STATES[self.state][1]

    @property
    def leaving_at(self) -> dt.datetime | None:
        return self.stay.discharge_at or self.stay.planned_discharge_at


def current_letter(stay: Stay) -> Letter | None:
    letters = [x for x in stay.prefetched_letters if x.status != Letter.Status.SUPERSEDED]
    return max(letters, key=lambda x: x.version, default=None)


def latest_review(letter: Letter | None) -> LetterReview | None:
    """The intern's latest submission of a draft (reviews prefetched by `worklist`)."""
    if letter is None or letter.status != Letter.Status.DRAFT:
        return None
    return max(letter.reviews.all(), key=lambda r: r.submitted_at, default=None)


REVIEW_STATES = {LetterReview.Outcome.PENDING: "to_validate", LetterReview.Outcome.RETURNED: "returned"}


def state_of(stay: Stay, letter: Letter | None) -> tuple[str, Panel | None]:
    if letter is None:
        return "none", None
    if letter.status == Letter.Status.DRAFT:
        panel = build_panel(stay, letter, letter.parsed())
        review = latest_review(letter)
        if review is not None and review.outcome in REVIEW_STATES:
            return REVIEW_STATES[review.outcome], panel
        return ("ready" if panel.ready and panel.signable else "draft"), panel
    if letter.discharge_check == DischargeCheck.TO_CORRECT:
        return "to_correct", None
    if letter.handed_over_at is None:
        return "signed", None
    delivery = deliveries.summary(letter, list(letter.deliveries.all()))
    if delivery is not None and delivery.state in ("sent", "acknowledged"):
        return delivery.state, None
    return "handed_over", None


def days_late(stay: Stay, letter: Letter | None) -> int:
    """Days between the discharge day and the hand-over day (0 = same day), Europe/Paris."""
    if letter is None or letter.handed_over_at is None or stay.discharge_at is None:
        return 0
    return (letter.handed_over_at.astimezone(PARIS).date() - stay.discharge_at.astimezone(PARIS).date()).days


def worklist(
    stays: QuerySet[Stay], unit: int | None = None, physician: int | None = None, day: dt.date | None = None
) -> list[Row]:
    today = day or timezone.localtime(timezone.now(), PARIS).date()
    start, end = paris_days(today)
    y_start, _ = paris_days(today - dt.timedelta(days=1))
    to_correct = Letter.objects.filter(status=Letter.Status.SIGNED, discharge_check=DischargeCheck.TO_CORRECT)
    qs = stays.filter(
        Q(discharge_at__gte=y_start, discharge_at__lt=end)
        | Q(discharge_at__isnull=True, planned_discharge_at__gte=start, planned_discharge_at__lt=end)
        | Q(pk__in=to_correct.values("stay_id"))  # until corrected, whatever the day
    )
    if unit:
        qs = qs.filter(unit_id=unit)
    if physician:
        qs = qs.filter(responsible_physician_id=physician)
    qs = qs.select_related(
        "patient", "patient__medecin_traitant", "unit", "responsible_physician", "establishment"
    ).prefetch_related(
        Prefetch(
            "letters",
            queryset=Letter.objects.prefetch_related(
                "deliveries",
                Prefetch("reviews", queryset=LetterReview.objects.select_related("submitted_by", "to")),
            ),
            to_attr="prefetched_letters",
        )
    )
    rows = []
    for stay in qs:
        letter = current_letter(stay)
        state, panel = state_of(stay, letter)
        yesterday = stay.discharge_at is not None and stay.discharge_at < start
        if yesterday and state in ("handed_over", "sent", "acknowledged"):
            continue  # yesterday's finished letters are off the list
        late_days = days_late(stay, letter)
        rows.append(
            Row(stay, letter, state, panel, yesterday or late_days > 0, late_days, latest_review(letter))
        )
    rows.sort(key=lambda r: (r.leaving_at or dt.datetime.max.replace(tzinfo=dt.UTC), r.stay.pk))
    return rows
