"""What the letter page shows, for one user: the service behind `views.letter_detail` and the
save views' re-rendered form.

`letter_page(letter, content, user, parsed)` gathers the letter, its versions and history, what
the user may do with it, the live QLS panel, the check-list, the deliveries and the form's labels;
the views only translate HTTP to it and render `web/letter.html`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.utils import timezone

from liaison.core.content import (
    CHANNEL_LABELS,
    ENTRY_MODE_LABELS,
    EXIT_MODE_LABELS,
    FOLLOW_UP_LABELS,
    IDENTITY_STATUS_LABELS,
    MEDICATION_STATUS_LABELS,
    ORIENTATION_LABELS,
    PROFESSIONAL_SOURCE_LABELS,
    RECIPIENT_ROLE_LABELS,
    ExitMode,
    LetterContent,
)
from liaison.delivery.routing import masking_errors, masking_notes, why_no_dmp
from liaison.letters import medecin_traitant
from liaison.letters.models import PARIS, AuditEvent, DischargeCheck, Letter, Stay
from liaison.letters.permissions import (
    PermissionDeniedFr,
    check_correct,
    check_edit,
    check_hand_over,
    check_sign,
)
from liaison.web import deliveries, drafting, review
from liaison.web.checklist import ANSWER_LABELS, load_checklist
from liaison.web.letter_form import DESTINATION_CHOICES, ParsedForm
from liaison.web.live import build_panel
from liaison.web.models import DischargeChecklist
from liaison.web.worklist import days_late


def allowed(check: Callable[..., None], user: Any, stay: Stay) -> bool:
    """Whether a permission check passes (the page offers the action), without raising."""
    try:
        check(user, stay)
    except PermissionDeniedFr:
        return False
    return True


def letter_page(
    letter: Letter, content: LetterContent, user: Any, parsed: ParsedForm | None = None
) -> dict[str, Any]:
    """The letter page's context: `content` as stored, or as typed (`parsed`, with its errors)."""
    stay = letter.stay
    draft = letter.status == Letter.Status.DRAFT
    checklist_row = DischargeChecklist.objects.filter(stay=stay).first()
    versions = list(stay.letters.order_by("version"))
    trail = AuditEvent.objects.filter(object_type="letter", object_id__in=[str(v.pk) for v in versions])[:30]
    field_errors = dict(parsed.errors) if parsed else {}
    for path, message in masking_errors(content):
        field_errors.setdefault(path, message)
    return {
        "letter": letter,
        "stay": stay,
        "c": content,
        **gp_context(letter, content),
        **review.letter_context(letter, user),
        "discharge": discharge_view(stay, letter, content),
        "panel": build_panel(stay, letter, content, parsed, getattr(user, "practitioner", None)),
        "draft": draft,
        "can_edit": draft and allowed(check_edit, user, stay),
        "can_sign": draft and allowed(check_sign, user, stay),
        "can_hand_over": letter.status == Letter.Status.SIGNED
        and letter.handed_over_at is None
        and allowed(check_hand_over, user, stay),
        "can_correct": letter.status == Letter.Status.SIGNED and allowed(check_correct, user, stay),
        "can_checklist": allowed(check_hand_over, user, stay),
        "late_days": days_late(stay, letter),
        "versions": versions,
        "trail": trail,
        "errors": field_errors,
        "masking_notes": masking_notes(content),
        "entry_labels": ENTRY_MODE_LABELS,
        "exit_labels": EXIT_MODE_LABELS,
        "identity_labels": IDENTITY_STATUS_LABELS,
        "med_labels": MEDICATION_STATUS_LABELS,
        "follow_labels": FOLLOW_UP_LABELS,
        "orientation_labels": ORIENTATION_LABELS,
        "recipient_labels": RECIPIENT_ROLE_LABELS,
        "channel_labels": CHANNEL_LABELS,
        "checklist": load_checklist(),
        "checklist_row": checklist_row,
        "checklist_answers": checklist_row.answers if checklist_row else {},
        "answer_labels": ANSWER_LABELS,
        "delivery": deliveries.summary(letter) if letter.status != Letter.Status.DRAFT else None,
        "why_no_dmp": why_no_dmp(content),
        "now_local": timezone.localtime(timezone.now(), PARIS).strftime("%Y-%m-%dT%H:%M"),
        "form_revision": letter.revision,
        **drafting.prefill_context(content),
    }


def gp_context(letter: Letter, content: LetterContent) -> dict[str, str]:
    """Where the médecin traitant comes from (GAM or physician), and the difference the GAM made:
    the note on a draft it updated, the flag on a signed letter."""
    mt = content.medecin_traitant
    flag = letter.medecin_traitant_difference if letter.status != Letter.Status.DRAFT else ""
    return {
        "mt_source_label": PROFESSIONAL_SOURCE_LABELS.get(mt.source, "") if mt and mt.source else "",
        "mt_note": flag or medecin_traitant.replaced_note(content),
    }


def discharge_view(stay: Stay, letter: Letter, content: LetterContent) -> dict[str, Any]:
    """What the letter page says of the discharge: planned or recorded, and the reconciliation."""
    planned = content.planned_discharge
    usual = stay.unit.usual_exit_mode
    check = letter.discharge_check if letter.status == Letter.Status.SIGNED else ""
    return {
        "recorded_label": EXIT_MODE_LABELS[ExitMode(stay.exit_mode)] if stay.exit_mode else "",
        "planned_label": EXIT_MODE_LABELS.get(planned.exit_mode) if planned and planned.exit_mode else "",
        "planned_at_local": timezone.localtime(planned.at, PARIS).strftime("%Y-%m-%dT%H:%M")
        if planned and planned.at
        else "",
        "usual": (usual, EXIT_MODE_LABELS[ExitMode(usual)]) if usual else None,
        "destinations": DESTINATION_CHOICES,
        "check": check,
        "check_label": DischargeCheck(check).label if check else "",
        "differences": letter.discharge_differences if check else [],
    }
