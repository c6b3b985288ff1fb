"""The letter page's « données du dossier »: drafting from the stay's record, and the physician's
answer to newer data proposed beside a section they have edited."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from liaison.clinical import draft, record
from liaison.core.content import MEDICATION_STATUS_LABELS, PREFILL_SECTIONS, LetterContent
from liaison.letters import lifecycle
from liaison.letters.models import Letter
from liaison.letters.permissions import PermissionDeniedFr, check_edit
from liaison.web.letter_form import parse_form
from liaison.web.live import PREFILL_STATE_LABELS


def refresh_on_open(letter: Letter, user) -> Letter:
    """Opening a draft one may edit proposes the record's data (written only when it changed)."""
    if letter.status != Letter.Status.DRAFT:
        return letter
    try:
        check_edit(user, letter.stay)
    except PermissionDeniedFr:
        return letter
    refreshed = record.refresh_draft(letter.pk, user)
    if refreshed.revision != letter.revision:
        letter.content, letter.revision = refreshed.content, refreshed.revision
    return letter


def prefill_context(content: LetterContent) -> dict:
    states = draft.section_states(content)
    return {
        "prefill": {
            name: {
                "label": PREFILL_SECTIONS[name],
                "state": states[name],
                "state_label": PREFILL_STATE_LABELS[states[name]],
                "sources": content.prefill[name].sources,
                "update": content.prefill[name].update,
                "update_lines": _lines(content.prefill[name].update),
                "update_sources": content.prefill[name].update_sources,
                "verified": content.prefill[name].verified,
            }
            for name in PREFILL_SECTIONS
            if name in content.prefill
        }
    }


def _lines(value: object) -> list[str]:
    """A proposal as the lines shown beside the physician's text."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):  # allergies
        return [str(value.get("details") or "")]
    rows = []
    for row in value if isinstance(value, list) else []:
        status = MEDICATION_STATUS_LABELS.get(row.get("status") or "", "")
        parts = [row.get("medicine") or row.get("description") or "", status, row.get("dosage") or ""]
        rows.append(" — ".join(p for p in parts if p))
    return rows


def _editable(request: HttpRequest, letter_id: int) -> Letter:
    from liaison.web.views import _get_letter  # the page's own access check

    letter = _get_letter(request, letter_id)
    check_edit(request.user, letter.stay)
    return letter


@login_required
@require_POST
def letter_record(request: HttpRequest, letter_id: int) -> HttpResponse:
    """« Reprendre les données du dossier »."""
    try:
        letter = _editable(request, letter_id)
    except PermissionDeniedFr as exc:
        messages.error(request, str(exc))
        return redirect("letter", letter_id=letter_id)
    before = letter.revision
    letter = record.refresh_draft(letter.pk, request.user)
    if letter.revision != before:
        messages.success(
            request, "Données du dossier reprises : vérifiez les sections marquées « à vérifier »."
        )
    else:
        messages.info(request, "Aucune donnée nouvelle dans le dossier du séjour.")
    return redirect("letter", letter_id=letter.pk)


@login_required
@require_POST
def letter_record_take(request: HttpRequest, letter_id: int) -> HttpResponse:
    """Take or set aside the record's newer data for one section; the form as typed is saved first."""
    action, _, section = request.POST.get("prefill_action", "").partition(":")
    accept = action == "reprendre"
    try:
        letter = _editable(request, letter_id)
        if section not in PREFILL_SECTIONS:
            raise lifecycle.LifecycleError("Section inconnue.")
        if "revision" in request.POST:
            parsed = parse_form(letter.parsed(), request.POST)
            expected = int(request.POST.get("revision") or 0)
            lifecycle.save_draft(letter.pk, parsed.content, expected, request.user)
        record.take_update(letter.pk, request.user, section, accept)
    except (lifecycle.LifecycleError, PermissionDeniedFr, ValueError) as exc:
        messages.error(request, str(exc))
        return redirect("letter", letter_id=letter_id)
    messages.success(
        request,
        f"{PREFILL_SECTIONS[section]} : "
        + ("données du dossier reprises." if accept else "votre texte est conservé."),
    )
    return redirect("letter", letter_id=letter_id)
