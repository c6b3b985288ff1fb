"""API payloads (ninja schemas); the letter content itself is `LetterContent`."""

from __future__ import annotations

import datetime as dt

from ninja import Schema

from liaison.core.content import LetterContent


class ErrorOut(Schema):
    detail: str


class StayOut(Schema):
    id: int
    visit_number: str
    unit: str
    sector: str
    patient: str
    admission_at: dt.datetime
    discharge_at: dt.datetime | None  # the recorded discharge (A03)
    planned_discharge_at: dt.datetime | None  # the GAM's planned discharge (PV2-9, A16)
    letter_id: int | None
    letter_state: str
    # The signed letter against the GAM's discharge: "" (none signed), "prevue" (signed on the
    # planned discharge, A03 awaited), "coherente", "a_corriger" (with the differences, in French).
    discharge_consistency: str
    discharge_differences: list[str]


class ReviewOut(Schema):
    state: str  # "a_valider", "renvoyee", "signee"
    submitted_by: str
    submitted_at: dt.datetime
    to: str  # the senior chosen, "" for any senior of the unit
    note: str
    answered_by: str
    answered_at: dt.datetime | None
    comment: str  # the senior's comment when returned


class LetterOut(Schema):
    id: int
    stay_id: int
    version: int
    status: str
    state: str
    revision: int
    document_oid: str
    signed_at: dt.datetime | None
    handed_over_at: dt.datetime | None
    content: LetterContent
    problems: list[dict]
    blockers: list[dict]  # exactly what signing refuses now (`signing.signature_blockers`)
    delivery_plan: list[dict]  # each recipient, its channel, whether it is sent, why not
    # A signed letter whose physician-named médecin traitant the GAM contradicted afterwards.
    medecin_traitant_difference: str = ""
    # The intern's latest submission to a senior (`letters.review`), None when never submitted.
    review: ReviewOut | None = None


class DraftIn(Schema):
    revision: int
    content: LetterContent


class HandOverIn(Schema):
    at: dt.datetime | None = None
    to: str = "patient"
    understanding_checked: bool = False


class CorrectionIn(Schema):
    why: str
