"""Draft sections of a letter from the stay's record, with the source of every item.

Pure Python, no Django: `record.load(stay)` turns the database rows into the plain `Record`
below; `proposals(record)` builds what each section would say; `merge(content, proposals)`
writes a proposal into a section only while the section holds what the record wrote before (or
nothing); once the physician has changed it, the proposal waits beside it (`SectionPrefill.update`)
and is never written over their text.

What is proposed:
- reason: the main diagnosis (DG1 marked principal), « libellé (code CIM-10) »;
- procedures and examinations: the CCAM procedures, then the significant results (an abnormal
  flag; the latest value of each test);
- pending results: the orders not resulted yet;
- allergies: present, with allergen, type, reaction and severity (no AL1 proposes nothing: the
  absence of a message is not the absence of an allergy);
- medications: the reconciliation of the treatment at entry with the discharge prescription,
  once a discharge prescription exists. Same medicine (CIS, else ATC substance, else name) with
  the same dosage: poursuivi; another dosage or strength: modifié, with the old line as the usual
  treatment; only at entry: arrêté; only at discharge: nouveau. The reason of every change is
  left for the physician to give (the HAS asks for it).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from liaison.core.content import (
    ItemSource,
    LetterContent,
    MedicationLine,
    MedicationStatus,
    PendingResult,
    Presence,
    SectionPrefill,
)
from liaison.core.paris import PARIS

FLAG_LABELS = {
    "L": "bas",
    "LL": "très bas",
    "H": "élevé",
    "HH": "très élevé",
    "<": "sous le seuil de mesure",
    ">": "au-dessus du seuil de mesure",
    "A": "anormal",
    "AA": "très anormal",
    "POS": "positif",
}


@dataclass(frozen=True)
class Fact:
    """Provenance shared by every fact: the message type, its date, its author or system."""

    message: str
    at: dt.datetime | None
    author: str


@dataclass(frozen=True)
class Result(Fact):
    code: str = ""
    label: str = ""
    value: str = ""
    unit: str = ""
    reference_range: str = ""
    flag: str = ""
    status: str = "final"  # final, preliminary, pending
    observed_at: dt.datetime | None = None


@dataclass(frozen=True)
class Medicine(Fact):
    kind: str = "sortie"  # entree, sejour, sortie
    active: bool = True
    name: str = ""
    cis: str = ""
    atc: str = ""
    dosage: str = ""
    route: str = ""
    duration: str = ""


@dataclass(frozen=True)
class Coding(Fact):
    code: str = ""
    label: str = ""
    principal: bool = False
    performed_at: dt.datetime | None = None


@dataclass(frozen=True)
class AllergyFact(Fact):
    label: str = ""
    kind: str = ""
    severity: str = ""
    reaction: str = ""


@dataclass(frozen=True)
class Record:
    results: list[Result] = field(default_factory=list)
    medicines: list[Medicine] = field(default_factory=list)
    diagnoses: list[Coding] = field(default_factory=list)
    procedures: list[Coding] = field(default_factory=list)
    allergies: list[AllergyFact] = field(default_factory=list)


@dataclass(frozen=True)
class Proposal:
    value: Any  # the section's value in its JSON form
    sources: list[ItemSource]


def _day(at: dt.datetime | None) -> str:
    return at.astimezone(PARIS).strftime("%d/%m/%Y") if at else ""


def _source(fact: Fact, item: str) -> ItemSource:
    return ItemSource(item=item[:300], message=fact.message, at=fact.at, author=fact.author)


def _number(value: str) -> str:
    return value.replace(".", ",") if re.fullmatch(r"-?\d+\.\d+", value) else value


# --- proposals ------------------------------------------------------------------------------------


def proposals(record: Record) -> dict[str, Proposal]:
    out: dict[str, Proposal] = {}
    main = [d for d in record.diagnoses if d.principal]
    if main:
        text = "; ".join(f"{d.label} ({d.code})" if d.label else d.code for d in main)
        out["reason"] = Proposal(text, [_source(d, f"Diagnostic principal {d.code}") for d in main])
    exams = _procedures_and_results(record)
    if exams is not None:
        out["procedures_and_exams"] = exams
    pending = [r for r in record.results if r.status == "pending"]
    if pending:
        lines = [
            PendingResult(
                description=f"{r.label or r.code}"
                + (f" (prélèvement du {_day(r.observed_at)})" if r.observed_at else "")
            )
            for r in pending
        ]
        out["pending_results"] = Proposal(
            [line.model_dump(mode="json") for line in lines],
            [_source(r, f"{r.label or r.code} : en attente") for r in pending],
        )
    if record.allergies:
        parts = []
        for a in record.allergies:
            extra = [x for x in (a.kind, f"réaction : {a.reaction}" if a.reaction else "", a.severity) if x]
            parts.append(f"{a.label} ({' ; '.join(extra)})" if extra else a.label)
        out["allergies"] = Proposal(
            Presence(present=True, details="; ".join(parts)).model_dump(mode="json"),
            [_source(a, f"Allergie : {a.label}") for a in record.allergies],
        )
    meds = reconcile(record.medicines)
    if meds is not None:
        lines, sources = meds
        out["medications"] = Proposal([m.model_dump(mode="json") for m in lines], sources)
    return out


def _procedures_and_results(record: Record) -> Proposal | None:
    sources: list[ItemSource] = []
    blocks: list[str] = []
    if record.procedures:
        lines = []
        for p in sorted(
            record.procedures, key=lambda p: p.performed_at or dt.datetime.max.replace(tzinfo=PARIS)
        ):
            when = f", le {_day(p.performed_at)}" if p.performed_at else ""
            lines.append(f"- {p.label or p.code} (CCAM {p.code}){when}")
            sources.append(_source(p, f"Acte {p.code}"))
        blocks.append("Actes :\n" + "\n".join(lines))
    latest: dict[str, Result] = {}
    for r in record.results:
        if r.status == "pending" or not r.flag:
            continue
        key = r.code or r.label
        old = latest.get(key)
        if old is None or (r.observed_at or dt.datetime.min.replace(tzinfo=PARIS)) >= (
            old.observed_at or dt.datetime.min.replace(tzinfo=PARIS)
        ):
            latest[key] = r
    if latest:
        lines = []
        for r in sorted(latest.values(), key=lambda r: r.label):
            value = " ".join(x for x in (_number(r.value), r.unit) if x)
            normal = f" (normales {r.reference_range})" if r.reference_range else ""
            flag = FLAG_LABELS.get(r.flag, "anormal")
            prelim = " (résultat préliminaire)" if r.status == "preliminary" else ""
            when = f", le {_day(r.observed_at)}" if r.observed_at else ""
            item = f"{r.label or r.code} : {value}{normal}, {flag}{when}{prelim}"
            lines.append(f"- {item}")
            sources.append(_source(r, item))
        blocks.append("Résultats significatifs :\n" + "\n".join(lines))
    if not blocks:
        return None
    return Proposal("\n".join(blocks), sources)


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text.strip().lower())


def _same_medicine(a: Medicine, b: Medicine) -> bool:
    if a.cis and b.cis and a.cis == b.cis:
        return True
    if a.atc and b.atc and len(a.atc) == 7 and a.atc == b.atc:
        return True
    return _norm(a.name) == _norm(b.name)


def _line_text(m: Medicine) -> str:
    return " — ".join(x for x in (m.name, m.dosage) if x)


def reconcile(medicines: list[Medicine]) -> tuple[list[MedicationLine], list[ItemSource]] | None:
    """Treatment at entry vs discharge prescription → the reconciliation table (None until a
    discharge prescription exists)."""
    entry = [m for m in medicines if m.kind == "entree" and m.active]
    discharge = [m for m in medicines if m.kind == "sortie" and m.active]
    if not discharge:
        return None
    lines: list[tuple[int, MedicationLine]] = []
    sources: list[ItemSource] = []
    matched: set[int] = set()
    for d in discharge:
        before = next((i for i, e in enumerate(entry) if i not in matched and _same_medicine(e, d)), None)
        if before is None:
            status, usual = MedicationStatus.NOUVEAU, ""
        else:
            matched.add(before)
            e = entry[before]
            unchanged = e.cis == d.cis and _norm(e.dosage) == _norm(d.dosage)
            status = MedicationStatus.POURSUIVI if unchanged else MedicationStatus.MODIFIE
            usual = _line_text(e)
            sources.append(_source(e, f"Traitement à l'entrée : {usual}"))
        lines.append(
            (
                {MedicationStatus.POURSUIVI: 0, MedicationStatus.MODIFIE: 1, MedicationStatus.NOUVEAU: 2}[
                    status
                ],
                MedicationLine(
                    medicine=d.name,
                    cis=d.cis or None,
                    atc=d.atc or None,
                    usual_treatment=usual,
                    status=status,
                    dosage=d.dosage,
                    route=d.route,
                    duration=d.duration,
                ),
            )
        )
        sources.append(_source(d, f"Ordonnance de sortie : {_line_text(d)}"))
    for i, e in enumerate(entry):
        if i in matched:
            continue
        lines.append(
            (
                3,
                MedicationLine(
                    medicine=e.name,
                    cis=e.cis or None,
                    atc=e.atc or None,
                    usual_treatment=_line_text(e),
                    status=MedicationStatus.ARRETE,
                    route=e.route,
                ),
            )
        )
        sources.append(
            _source(e, f"Traitement à l'entrée, absent de l'ordonnance de sortie : {_line_text(e)}")
        )
    return [line for _, line in sorted(lines, key=lambda x: x[0])], sources


# --- merging into a draft -------------------------------------------------------------------------

EMPTY: dict[str, Any] = {
    "reason": "",
    "procedures_and_exams": "",
    "allergies": Presence().model_dump(mode="json"),
    "medications": [],
    "pending_results": [],
}
# The physician's explicit « none » ticks: a section with its tick is their answer, not empty.
NONE_FLAGS = {
    "procedures_and_exams": "no_procedures_and_exams",
    "medications": "no_discharge_medication",
    "pending_results": "no_pending_results",
}


def section_value(content: LetterContent, section: str) -> Any:
    value = getattr(content, section)
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return [v.model_dump(mode="json") for v in value]
    return value.model_dump(mode="json")


# What the form shows of a row: the fields compared to tell the physician's edits apart.
COMPARED = {
    "medications": ("medicine", "usual_treatment", "status", "dosage", "duration", "reason"),
    "pending_results": ("description", "expected_on", "followed_by"),
}


def _canon(section: str, value: Any) -> Any:
    """A section's value as the form round-trips it (CRLF line ends, rows without hidden fields)."""
    if isinstance(value, str):
        return value.replace("\r\n", "\n").strip()
    keys = COMPARED.get(section)
    if keys and isinstance(value, list):
        return [{k: (row.get(k) or "") for k in keys} for row in value]
    return value


def same(section: str, a: Any, b: Any) -> bool:
    return _canon(section, a) == _canon(section, b)


def _untouched(content: LetterContent, section: str) -> bool:
    flag = NONE_FLAGS.get(section)
    return same(section, section_value(content, section), EMPTY[section]) and not (
        flag and getattr(content, flag)
    )


def merge(content: LetterContent, found: dict[str, Proposal]) -> LetterContent:
    """`content` with each proposal written into its section, or set beside it (see the module)."""
    update: dict[str, Any] = {}
    states = dict(content.prefill)
    for section, proposal in found.items():
        state = states.get(section)
        current = section_value(content, section)
        if state is not None and proposal.value == state.written:
            continue  # nothing new in the record
        free = _untouched(content, section) if state is None else same(section, current, state.written)
        if free:
            update[section] = proposal.value
            states[section] = SectionPrefill(sources=proposal.sources, written=proposal.value)
        elif state is None or proposal.value != state.update:
            base = state or SectionPrefill()
            states[section] = base.model_copy(
                update={"update": proposal.value, "update_sources": proposal.sources}
            )
    if not update and states == content.prefill:
        return content
    data = content.model_dump(mode="json")
    data.update(update)
    data["prefill"] = {k: v.model_dump(mode="json") for k, v in states.items()}
    return LetterContent.model_validate(data)


def accept_update(content: LetterContent, section: str) -> LetterContent:
    """The physician takes the newer proposal in place of the section's text."""
    state = content.prefill.get(section)
    if state is None or state.update is None:
        return content
    data = content.model_dump(mode="json")
    data[section] = state.update
    data["prefill"][section] = SectionPrefill(sources=state.update_sources, written=state.update).model_dump(
        mode="json"
    )
    return LetterContent.model_validate(data)


def dismiss_update(content: LetterContent, section: str) -> LetterContent:
    """The physician keeps their text: the proposal is acknowledged and not offered again."""
    state = content.prefill.get(section)
    if state is None or state.update is None:
        return content
    prefill = dict(content.prefill)
    prefill[section] = state.model_copy(
        update={
            "written": state.update,
            "sources": state.update_sources,
            "update": None,
            "update_sources": [],
        }
    )
    return content.model_copy(update={"prefill": prefill})


def section_states(content: LetterContent) -> dict[str, str]:
    """Per pre-filled section: « a_verifier » (still the record's text, not checked),
    « verifie » (checked, or changed by the physician), « mise_a_jour » (newer data waits)."""
    out = {}
    for section, state in content.prefill.items():
        if state.update is not None:
            out[section] = "mise_a_jour"
        elif state.verified or not same(section, section_value(content, section), state.written):
            out[section] = "verifie"
        else:
            out[section] = "a_verifier"
    return out
