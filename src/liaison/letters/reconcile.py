"""A signed letter against the discharge the GAM knows: consistent, or « à corriger ».

A letter may be signed and handed over on the planned discharge, before the GAM keys the
administrative one. When the A03 arrives (or an A13 cancels it, an A16 changes the plan, an A25
cancels it) the current signed version is compared with the GAM: same day (Europe/Paris), same
exit mode and, when both sides name one, the same destination. The result is written on the
signed version (`Letter.discharge_check`, the differences in French); its content is never
touched: a difference is fixed by a correction, pre-filled from the GAM, that replaces it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.utils import timezone

from liaison import rowsql
from liaison.core.content import EXIT_MODE_LABELS, ExitMode, LetterContent
from liaison.core.text import strip_accents
from liaison.letters import audit
from liaison.letters.models import PARIS, AuditEvent, DischargeCheck, Letter, Stay

CANCELLED_DISCHARGE = "La sortie enregistrée a été annulée par le GAM (A13) après la signature."
CANCELLED_PLAN = "La sortie prévue a été annulée par le GAM (A25) après la signature."


def _day(at: dt.datetime) -> str:
    return timezone.localtime(at, PARIS).strftime("%d/%m/%Y")


def _when(at: dt.datetime) -> str:
    return timezone.localtime(at, PARIS).strftime("%d/%m/%Y %H:%M")


def _mode(value: str | None) -> str:
    return f"« {EXIT_MODE_LABELS[ExitMode(value)]} »" if value else "non renseignée"


def _norm(text: str) -> str:
    plain = strip_accents(text)
    return " ".join(plain.casefold().split())


def differences(
    content: LetterContent, at: dt.datetime | None, exit_mode: str, destination: str, what: str
) -> list[str]:
    """What differs between the signed letter and the GAM's discharge (`what` names it)."""
    out: list[str] = []
    if at is not None and (content.discharge_at is None or _day(content.discharge_at) != _day(at)):
        signed = _when(content.discharge_at) if content.discharge_at else "absente"
        out.append(f"Date de sortie : lettre {signed}, {what} {_when(at)}.")
    letter_mode = content.exit_mode.value if content.exit_mode else ""
    if exit_mode and exit_mode != letter_mode:
        out.append(f"Modalité de sortie : lettre {_mode(letter_mode)}, {what} {_mode(exit_mode)}.")
    if destination and content.destination and _norm(destination) != _norm(content.destination):
        out.append(f"Destination : lettre « {content.destination} », {what} « {destination} ».")
    return out


def check(content: LetterContent, stay: Stay, event: str = "") -> tuple[str, list[str]]:
    """The state of a signed letter of `stay` after `event` ('' at signature)."""
    if event == "A13":
        return DischargeCheck.TO_CORRECT, [CANCELLED_DISCHARGE]
    if stay.discharge_at is not None:
        recorded = "sortie enregistrée"
        diffs = differences(content, stay.discharge_at, stay.exit_mode, stay.destination, recorded)
        return (DischargeCheck.TO_CORRECT if diffs else DischargeCheck.CONSISTENT), diffs
    if content.discharge_recorded:  # signed after an A03 that has since been cancelled
        return DischargeCheck.TO_CORRECT, [CANCELLED_DISCHARGE]
    if event == "A25":
        return DischargeCheck.TO_CORRECT, [CANCELLED_PLAN]
    if event == "A16":
        diffs = differences(
            content, stay.planned_discharge_at, stay.planned_exit_mode, stay.planned_destination, "GAM (A16)"
        )
        if diffs:
            return DischargeCheck.TO_CORRECT, diffs
    return DischargeCheck.PLANNED, []


def reconcile(
    stay: Stay, event: str, trace: Callable[[AuditEvent], object], why: str, letter: Letter | None = None
) -> Letter | None:
    """Check the stay's current signed version after a GAM event; write the result if it changed.

    `stay` is locked and loaded by the caller (the ADT ingest) in the current transaction."""
    if letter is None:
        letter = rowsql.fetch(
            Letter, "t.stay_id = %s AND t.status = %s", [stay.pk, Letter.Status.SIGNED], lock=True
        )
    if letter is None:
        return None
    letter.stay = stay
    state, diffs = check(letter.parsed(), stay, event)
    if state == letter.discharge_check and diffs == letter.discharge_differences:
        return letter
    letter.discharge_check, letter.discharge_differences = state, diffs
    letter.discharge_checked_at = timezone.now()
    rowsql.update(letter, ["discharge_check", "discharge_differences", "discharge_checked_at"])
    trace(audit.event(None, "reconcile", letter, why=why, details={"etat": state, "ecarts": diffs}))
    return letter


def stay_consistency(letters: list[Letter]) -> tuple[str, list[str]]:
    """The stay's state: that of its current signed version ('' when none is signed)."""
    signed = [x for x in letters if x.status == Letter.Status.SIGNED]
    if not signed:
        return "", []
    current = max(signed, key=lambda x: x.version)
    return current.discharge_check, list(current.discharge_differences or [])
