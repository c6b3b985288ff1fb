"""Registry of named predicates that QLS grids reference by name (`rule: medications_complete`).

A grid file never contains code: each criterion names one rule registered here and may pass it
parameters. Every rule is a function `(letter: LetterView, *, absence_statement: bool, **params)
-> Outcome`. Its keyword parameters (with type hints and defaults) are the parameters a grid may
set; they are validated once, when the grid is loaded (see `bind_rule`).

A rule answers `met`, `not_met` or `not_applicable`. When it can say more precisely what is
missing, it returns a French detail and the form field to fix (e.g. `medications.2.duration`);
otherwise the grid's own explanation and field are used.
"""

from __future__ import annotations

import datetime as dt
import inspect
import re
import typing
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from functools import partial
from typing import Any, Literal, NamedTuple

from pydantic import ConfigDict, ValidationError, create_model

from liaison.core import catalogue
from liaison.core.content import (
    PROFESSION_LABELS,
    ExitMode,
    LetterContent,
    LetterFacts,
    MedicationStatus,
    Presence,
    Professional,
)
from liaison.core.paris import paris_day


class Result(StrEnum):
    MET = "met"
    NOT_MET = "not_met"
    NOT_APPLICABLE = "not_applicable"


RESULT_LABELS_FR = {Result.MET: "oui", Result.NOT_MET: "non", Result.NOT_APPLICABLE: "NA"}


class Outcome(NamedTuple):
    result: Result
    detail: str = ""  # French, says precisely what is missing
    field: str = ""  # form field to fix; empty = the criterion's own field


MET = Outcome(Result.MET)
NOT_APPLICABLE = Outcome(Result.NOT_APPLICABLE)


@dataclass(slots=True)
class LetterView:
    """What a rule reads: the content, the facts and the discharge day computed once."""

    content: LetterContent
    facts: LetterFacts
    discharge_day: dt.date | None

    @classmethod
    def of(cls, content: LetterContent, facts: LetterFacts) -> LetterView:
        return cls(content, facts, paris_day(content.discharge_at))


RuleFn = Callable[..., Outcome]
_REGISTRY: dict[str, RuleFn] = {}


def rule(name: str) -> Callable[[RuleFn], RuleFn]:
    """Register a predicate under `name` so that grid files can reference it."""

    def register(fn: RuleFn) -> RuleFn:
        if name in _REGISTRY:
            raise ValueError(f"Règle « {name} » déjà enregistrée.")
        _REGISTRY[name] = fn
        return fn

    return register


def registered_rules() -> list[str]:
    return sorted(_REGISTRY)


def bind_rule(name: str, params: dict[str, Any], absence_statement: bool) -> Callable[[LetterView], Outcome]:
    """Return the rule `name` with its grid parameters validated and bound.

    Raises `ValueError` with a French message for an unknown rule or bad parameters.
    """
    fn = _REGISTRY.get(name)
    if fn is None:
        known = ", ".join(registered_rules())
        raise ValueError(f"Règle inconnue « {name} ». Règles disponibles : {known}.")
    hints = typing.get_type_hints(fn)
    fields: dict[str, Any] = {}
    for p in inspect.signature(fn).parameters.values():
        if p.kind is not inspect.Parameter.KEYWORD_ONLY or p.name == "absence_statement":
            continue
        default = ... if p.default is inspect.Parameter.empty else p.default
        fields[p.name] = (hints[p.name], default)
    model = create_model(f"Params_{name}", __config__=ConfigDict(extra="forbid"), **fields)
    try:
        validated = model.model_validate(params)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))} : {e['msg']}" for e in exc.errors())
        raise ValueError(f"Paramètres invalides pour la règle « {name} » : {problems}.") from exc
    kwargs = {k: getattr(validated, k) for k in fields}
    return partial(fn, absence_statement=absence_statement, **kwargs)


# --- helpers ------------------------------------------------------------------------------------


def _not_met(detail: str = "", field: str = "") -> Outcome:
    return Outcome(Result.NOT_MET, detail, field)


def _has_text(value: str | None) -> bool:
    return bool(value and value.strip())


# Free text that only says « none »: an explicit absence, never the content a criterion asks for.
NONE_ANSWER = re.compile(
    r"^\W*(aucun|aucune|néant|neant|r\.?\s?a\.?\s?s|rien|rien à signaler|rien a signaler|sans objet|"
    r"non|n\.?\s?a|n/a|nc|non communiqué|non renseigné|non précisé|0|-+|/)\W*$",
    re.IGNORECASE,
)


def says_none(value: str | None) -> bool:
    """« Aucun », « Néant », « RAS », « Rien à signaler », « Sans objet »…: an absence, not an answer."""
    return bool(value and NONE_ANSWER.match(value.strip()))


def _answer(value: str | None) -> bool:
    return _has_text(value) and not says_none(value)


def _person_ok(p: Professional | None, need_contact: bool) -> bool:
    if p is None or not p.display_name.strip():
        return False
    return not need_contact or any(_has_text(v) for v in (p.phone, p.address, p.mssante))


def _same_day(moment: dt.datetime | None, day: dt.date | None) -> bool:
    return moment is not None and day is not None and paris_day(moment) == day


# --- gates and hand-over ------------------------------------------------------------------------


@rule("letter_found")
def letter_found(letter: LetterView, *, absence_statement: bool) -> Outcome:
    return MET if letter.facts.exists else _not_met()


@rule("signed_on_discharge_day")
def signed_on_discharge_day(letter: LetterView, *, absence_statement: bool) -> Outcome:
    """The letter is dated (signed) on the day of discharge, both read in Europe/Paris."""
    if letter.discharge_day is None:
        return _not_met("date de sortie absente", "discharge_at")
    signed = letter.facts.signed_at
    if signed is None:
        return _not_met("lettre non signée", "signature")
    if paris_day(signed) != letter.discharge_day:
        return _not_met(f"signée le {paris_day(signed):%d/%m/%Y}, sortie le {letter.discharge_day:%d/%m/%Y}")
    return MET


@rule("handed_over")
def handed_over(
    letter: LetterView, *, absence_statement: bool, same_day: bool = True, or_mss_to_patient: bool = False
) -> Outcome:
    """The letter was handed to the patient (on the day of discharge, Europe/Paris, if `same_day`).

    With `or_mss_to_patient`, a sending to the patient by MSSanté (Mon espace santé) the same day
    meets it too: « remise ou envoyée via MSSanté » (Assurance Maladie page on the LLS).
    """
    moment = letter.facts.handed_over_at
    sent = letter.facts.sent_to_patient_mss_at
    if or_mss_to_patient and sent is not None and (not same_day or _same_day(sent, letter.discharge_day)):
        return MET  # sent to the patient by MSSanté on the day
    if moment is None:
        return _not_met()
    if same_day:
        if letter.discharge_day is None:
            return _not_met("date de sortie absente", "discharge_at")
        if paris_day(moment) != letter.discharge_day:
            return _not_met(
                f"remise le {paris_day(moment):%d/%m/%Y}, sortie le {letter.discharge_day:%d/%m/%Y}"
            )
    return MET


@rule("sent_to_medecin_traitant_on_discharge_day")
def sent_to_medecin_traitant_on_discharge_day(letter: LetterView, *, absence_statement: bool) -> Outcome:
    """Sent to the médecin traitant on the discharge day; not applicable if the patient has none."""
    c = letter.content
    if c.medecin_traitant is None:
        if c.no_medecin_traitant:
            return NOT_APPLICABLE
        return _not_met("médecin traitant non renseigné", "medecin_traitant")
    if not _same_day(letter.facts.sent_to_medecin_traitant_at, letter.discharge_day):
        return _not_met("envoi au médecin traitant non tracé le jour de la sortie")
    return MET


@rule("signed_by_physician")
def signed_by_physician(
    letter: LetterView, *, absence_statement: bool, professions: list[str] | None = None
) -> Outcome:
    """Signed, by an establishment physician who is identified in the letter."""
    allowed = professions or ["medecin"]
    if letter.facts.signed_at is None:
        return _not_met("lettre non signée", "signature")
    if letter.facts.signer_profession not in allowed:
        who = PROFESSION_LABELS.get(letter.facts.signer_profession or "", "profession inconnue")
        return _not_met(f"signataire non médecin ({who.lower()})")
    if not _person_ok(letter.content.responsible_physician, need_contact=False):
        return _not_met("médecin de l'établissement non nommé", "responsible_physician")
    return MET


# --- 1° identifications, dates, modalities ------------------------------------------------------


@rule("patient_identified")
def patient_identified(letter: LetterView, *, absence_statement: bool, require_ins: bool = False) -> Outcome:
    p = letter.content.patient
    missing = [
        label
        for label, ok in (
            ("nom de naissance", _has_text(p.birth_family_name) or _has_text(p.used_family_name)),
            ("prénom", _has_text(p.first_given_name) or _has_text(p.used_given_name)),
            ("date de naissance", p.birth_date is not None),
            ("INS", not require_ins or _has_text(p.ins_matricule)),
        )
        if not ok
    ]
    return _not_met(", ".join(missing)) if missing else MET


@rule("addressee_identified")
def addressee_identified(
    letter: LetterView, *, absence_statement: bool, need_contact: bool = True
) -> Outcome:
    """A physician or structure the letter is addressed to: médecin traitant, adresseur or aval.

    Not applicable when the patient explicitly has no médecin traitant and there is no adresseur
    and no receiving structure (only if the grid accepts an explicit "none").
    """
    c = letter.content
    people = (c.medecin_traitant, c.adresseur, c.receiving_structure)
    if any(_person_ok(p, need_contact) for p in people):
        return MET
    if all(p is None for p in people) and c.no_medecin_traitant:
        return NOT_APPLICABLE if absence_statement else _not_met("aucun destinataire médecin")
    if any(p is not None for p in people):
        return _not_met("nom ou coordonnées du destinataire incomplets")
    return _not_met()


@rule("medecin_traitant_identified")
def medecin_traitant_identified(
    letter: LetterView, *, absence_statement: bool, need_contact: bool = False
) -> Outcome:
    c = letter.content
    if c.medecin_traitant is None:
        if c.no_medecin_traitant and absence_statement:
            return NOT_APPLICABLE
        return _not_met()
    if not _person_ok(c.medecin_traitant, need_contact):
        return _not_met("nom ou coordonnées du médecin traitant incomplets")
    return MET


@rule("adresseur_identified")
def adresseur_identified(
    letter: LetterView, *, absence_statement: bool, need_contact: bool = False
) -> Outcome:
    """The praticien adresseur, "le cas échéant": not applicable when there is none."""
    p = letter.content.adresseur
    if p is None:
        return NOT_APPLICABLE
    return MET if _person_ok(p, need_contact) else _not_met("nom ou coordonnées de l'adresseur incomplets")


@rule("physician_identified")
def physician_identified(
    letter: LetterView, *, absence_statement: bool, need_contact: bool = True
) -> Outcome:
    """The establishment physician (signatory): name, and contact details if `need_contact`.

    The establishment's phone counts as the physician's contact details.
    """
    c = letter.content
    p = c.responsible_physician
    if p is None or not p.display_name.strip():
        return _not_met("nom absent")
    if need_contact and not (_person_ok(p, True) or _has_text(c.establishment.phone)):
        return _not_met("coordonnées absentes (téléphone, adresse ou messagerie)")
    return MET


@rule("stay_dates")
def stay_dates(letter: LetterView, *, absence_statement: bool, require_modes: bool = False) -> Outcome:
    c = letter.content
    if c.admission_at is None:
        return _not_met("date d'entrée absente", "admission_at")
    if c.discharge_at is None:
        return _not_met("date de sortie absente", "discharge_at")
    if c.discharge_at < c.admission_at:
        return _not_met("la date de sortie précède la date d'entrée", "discharge_at")
    if require_modes:
        if c.entry_mode is None:
            return _not_met("modalité d'entrée absente", "entry_mode")
        if c.exit_mode is None:
            return _not_met("modalité de sortie absente", "exit_mode")
    return MET


@rule("destination_stated")
def destination_stated(letter: LetterView, *, absence_statement: bool) -> Outcome:
    """Where the patient goes: exit mode or free text; a transfer needs the receiving structure."""
    c = letter.content
    if c.exit_mode is None and not _has_text(c.destination):
        return _not_met()
    transfer = {ExitMode.HAD, ExitMode.EHPAD, ExitMode.SMR, ExitMode.AUTRE_ES}
    if c.exit_mode in transfer and c.receiving_structure is None and not _has_text(c.destination):
        return _not_met("structure d'accueil non nommée", "receiving_structure")
    return MET


# --- 2°, 3°, 5°: text items and "le cas échéant" items -----------------------------------------

TextField = Literal["reason", "medical_summary", "procedures_and_exams", "destination", "emergency_contact"]


@rule("text_present")
def text_present(letter: LetterView, *, absence_statement: bool, field: TextField) -> Outcome:
    """A free-text field of LetterContent is filled in, with more than « aucun / néant / RAS »."""
    value = getattr(letter.content, field)
    if says_none(value):
        return _not_met(f"« {value.strip()} » ne répond pas à la question")
    return MET if _has_text(value) else _not_met()


@rule("procedures_and_exams_stated")
def procedures_and_exams_stated(letter: LetterView, *, absence_statement: bool) -> Outcome:
    """Procedures and complementary examinations described, or "none" stated explicitly.

    The explicit "aucun acte ni examen complémentaire" (`no_procedures_and_exams`) counts only
    with `absence_statement: true`; ticked while procedures are described, it is a contradiction.
    """
    c = letter.content
    described = _has_text(c.procedures_and_exams)
    if c.no_procedures_and_exams:
        if described:
            return _not_met("« aucun acte ni examen » coché alors que des actes ou examens sont décrits")
        return MET if absence_statement else _not_met("une mention « aucun acte ni examen » ne suffit pas")
    return MET if described else _not_met()


PresenceItem = Literal[
    "adverse_events",
    "resistant_organisms",
    "transfusion",
    "blood_derivatives",
    "implanted_devices",
    "allergies",
]


@rule("presence_answered")
def presence_answered(letter: LetterView, *, absence_statement: bool, items: list[PresenceItem]) -> Outcome:
    """Each "le cas échéant" item is answered: present with details, or explicitly absent.

    With `absence_statement: false`, an explicit "aucun" does not count: the item must be present.
    """
    for name in items:
        item: Presence = getattr(letter.content, name)
        label = catalogue.label(name)
        if item.present is None:
            return _not_met(f"« {label} » sans réponse (présent ou aucun)", name)
        if item.present and not _has_text(item.details):
            if name == "implanted_devices" and letter.content.devices:
                continue
            return _not_met(f"« {label} » : préciser", f"{name}.details")
        if item.present is False and not absence_statement:
            return _not_met(f"« {label} » : une mention d'absence ne suffit pas", name)
    return MET


@rule("pending_results_stated")
def pending_results_stated(letter: LetterView, *, absence_statement: bool) -> Outcome:
    c = letter.content
    if c.pending_results:
        for i, r in enumerate(c.pending_results):
            if not _has_text(r.description):
                return _not_met(
                    f"résultat attendu n° {i + 1} sans description", f"pending_results.{i}.description"
                )
        return MET
    if c.no_pending_results:
        return MET if absence_statement else _not_met("une mention d'absence ne suffit pas")
    return _not_met()


# --- 4° treatments --------------------------------------------------------------------------------

MedicationItem = Literal["medicine", "status", "dosage", "duration", "reason"]
_MED_ITEMS = ("medicine", "status", "dosage", "duration", "reason")


@rule("medications_complete")
def medications_complete(
    letter: LetterView, *, absence_statement: bool, require: list[MedicationItem] | None = None
) -> Outcome:
    """Discharge treatment: every line has what `require` lists, or "no treatment" is stated.

    `require` picks among medicine, status, dosage, duration (both only for drugs taken after
    discharge) and reason (only for modified, stopped or suspended drugs).
    """
    wanted = set(require if require is not None else _MED_ITEMS)
    c = letter.content
    taken = [m for m in c.medications if m.taken_at_home]
    if c.no_discharge_medication:
        if taken:
            return _not_met("« aucun traitement à la sortie » coché alors que des lignes sont prescrites")
        if not absence_statement:
            return _not_met("une mention « aucun traitement » ne suffit pas")
    elif not c.medications:
        return _not_met()
    elif not taken:  # drugs stopped during the stay are not the discharge treatment
        return _not_met("traitement de sortie absent : seuls des médicaments arrêtés ou suspendus figurent")
    for i, m in enumerate(c.medications):
        name = m.medicine.strip() or f"ligne {i + 1}"
        if "medicine" in wanted and not _answer(m.medicine):
            return _not_met(f"ligne {i + 1} : médicament non nommé", f"medications.{i}.medicine")
        if "status" in wanted and m.status is None:
            return _not_met(
                f"{name} : statut (poursuivi, modifié, arrêté…) absent", f"medications.{i}.status"
            )
        if m.taken_at_home:
            if "dosage" in wanted and not _has_text(m.dosage):
                return _not_met(f"{name} : posologie absente", f"medications.{i}.dosage")
            if "duration" in wanted and not _has_text(m.duration):
                return _not_met(f"{name} : durée absente", f"medications.{i}.duration")
        if "reason" in wanted and m.needs_reason and not _has_text(m.reason):
            verb = "l'arrêt" if m.status == MedicationStatus.ARRETE else "la modification"
            return _not_met(f"{name} : motif de {verb} absent", f"medications.{i}.reason")
    return MET


# --- 6° follow-up and ambulatory surgery --------------------------------------------------------


@rule("follow_up_stated")
def follow_up_stated(letter: LetterView, *, absence_statement: bool) -> Outcome:
    """Care planning: at least one described follow-up item, or "no particular follow-up"."""
    c = letter.content
    if c.follow_up:
        for i, item in enumerate(c.follow_up):
            if not _has_text(item.description):
                return _not_met(f"suite n° {i + 1} sans description", f"follow_up.{i}.description")
        return MET
    if c.no_follow_up:
        return MET if absence_statement else _not_met("une mention « aucune suite » ne suffit pas")
    return _not_met()


@rule("emergency_contact_stated")
def emergency_contact_stated(letter: LetterView, *, absence_statement: bool, min_digits: int = 4) -> Outcome:
    """A phone number reachable in an emergency (at least `min_digits` digits)."""
    digits = sum(ch.isdigit() for ch in letter.content.emergency_contact)
    if digits == 0:
        return _not_met()
    return MET if digits >= min_digits else _not_met("numéro incomplet")
