"""Read an LDL-SES CDA that Liaison did not write, into `LetterContent` + `LetterFacts`.

Used to audit letters produced by another software (DPI) with the same QLS grids. The reader
prefers the structured entries (ORG-070/ORG-074 modalities, MED-142 to MED-148 and MED-309
observations, `substanceAdministration` lines, follow-up entries) and falls back to the
narrative text of each section. What a CDA cannot say (hand-over to the patient, sending to the
médecin traitant) stays empty in the facts: `audit_cda_files` lists those criteria as not
verifiable from the document.

The header is read by `cda.header` (`read_header`, `read_facts`); each section is found through
`cda.sections.REGISTRY` (by templateId, else LOINC code) and read by its own module.
No Django. lxml with entity resolution and network access disabled.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Required, TypedDict

from lxml import etree

from liaison.core.codes import LDL_SES_LOINC
from liaison.core.content import (
    LetterContent,
    LetterFacts,
    Sector,
)
from liaison.documents.cda.codes import LDL_SES_TEMPLATE_ID
from liaison.documents.cda.header import read_facts, read_header
from liaison.documents.cda.reading import (
    NS,
    MedicationSource,
    ReadState,
    attr,
    find_sections,
    parse_ts,
    strings,
)
from liaison.documents.cda.sections import REGISTRY
from liaison.documents.xmlsafe import XmlInputError, parse_xml, read_xml_file
from liaison.quality.evaluate import evaluate
from liaison.quality.grid import load_grid


class CdaReadError(ValueError):
    """A file that is not a readable LDL-SES CDA; the message is in French."""


@dataclass
class CdaReading:
    content: LetterContent
    facts: LetterFacts
    notes: list[str] = field(default_factory=list)  # French: where the reader fell back to narrative
    medication_source: MedicationSource = "absent"  # how the discharge treatment was read


# --- the reader ----------------------------------------------------------------------------------------


def _parse(source: bytes | str | Path) -> etree._Element:
    try:
        if isinstance(source, Path):
            root = read_xml_file(source, remove_comments=True)[1]
        else:
            data = source.encode() if isinstance(source, str) else source
            root = parse_xml(data, "Le document", remove_comments=True)
    except XmlInputError as exc:
        raise CdaReadError(str(exc)) from exc
    if root.tag != "{urn:hl7-org:v3}ClinicalDocument":
        raise CdaReadError(
            "Ce fichier n'est pas un document CDA (élément racine ClinicalDocument HL7 v3 absent)."
        )
    code = attr(root, "cda:code", "code")
    if code != LDL_SES_LOINC:
        label = attr(root, "cda:code", "displayName") or "sans libellé"
        raise CdaReadError(
            f"Ce document n'est pas une lettre de liaison à la sortie : code {code or 'absent'} ({label}), "
            f"{LDL_SES_LOINC} attendu."
        )
    if LDL_SES_TEMPLATE_ID not in strings(root, "cda:templateId/@root"):
        raise CdaReadError(
            f"Ce document n'est pas conforme au modèle LDL-SES : templateId {LDL_SES_TEMPLATE_ID} absent."
        )
    return root


def read_cda(source: bytes | str | Path, sector: Sector = Sector.MCO) -> CdaReading:
    """Read an LDL-SES CDA (path, bytes or XML text). Raises `CdaReadError` in French.

    The header first; then each section of the registry, found by templateId or LOINC code, reads
    the fields it holds (ldl-ses-cda.md §2 order).
    """
    doc = _parse(source)
    state = ReadState(doc, LetterContent(sector=sector))
    read_header(state)
    found = find_sections(doc, REGISTRY)
    for section in REGISTRY:
        if section.read is not None:
            section.read(state, found.get(section.name))
    return CdaReading(state.content, read_facts(doc), state.notes, state.medication_source)


# Facts a CDA cannot carry: the letter being in the patient's record, its hand-over, its sending.
# Criteria reading them are « non vérifiable sur le document ».
NOT_IN_CDA = {
    "facts.exists",
    "facts.handed_over_at",
    "facts.sent_to_medecin_traitant_at",
    "facts.sent_to_patient_mss_at",
}
NOT_VERIFIABLE_FR = "non vérifiable sur le document"


class GridRef(TypedDict):
    id: str
    version: str
    sha256: str


class Problem(TypedDict):
    criterion: str
    explanation: str  # French
    field: str  # the form field to fix


class NotVerifiable(TypedDict):
    criterion: str
    explanation: str  # NOT_VERIFIABLE_FR


class CdaFileResult(TypedDict, total=False):
    """One file's line of `audit_cda_files` (its JSON keys are the `audit --letters` output):
    `file` and `error` for an unreadable file, `file` and every other key for a graded one."""

    file: Required[str]
    error: str  # French
    grid: GridRef
    letter_id: str | None
    criteria: dict[str, str | None]  # met | not_met | not_applicable; None: not verifiable
    compliant: bool | None
    compliant_on_content: bool
    problems: list[Problem]
    not_verifiable: list[NotVerifiable]
    medication_source: MedicationSource
    notes: list[str]


def audit_cda_files(
    paths: Iterable[str | Path], grid_id: str = "qls/mco/v2-2022", sector: Sector = Sector.MCO
) -> list[CdaFileResult]:
    """Grade each CDA file with a grid; a bad file gives `error` and does not stop the batch.

    Per file: `file`, `criteria` {id: met | not_met | not_applicable | null}, null for the
    criteria a document cannot show (`not_verifiable`, each « non vérifiable sur le document »:
    found in the record, hand-over, sending); `compliant_on_content`, the verdict on what the
    document can show; `compliant`: false when the content fails, otherwise null (the record must
    say the rest); `problems` (French explanation + field, content only); `medication_source`
    (how the discharge treatment was read) and `notes`; or `file` and `error` (French reason).
    """
    grid = load_grid(grid_id)
    not_verifiable = [i.id for i in grid.items if NOT_IN_CDA & set(i.reads)]
    out: list[CdaFileResult] = []
    for path in paths:
        path = Path(path)
        try:
            reading = read_cda(path, sector)
        except CdaReadError as exc:
            out.append({"file": str(path), "error": str(exc)})
            continue
        except Exception as exc:  # one bad file must not stop the batch
            out.append({"file": str(path), "error": f"Lecture impossible : {exc}"})
            continue
        e = evaluate(reading.content, reading.facts, grid)
        problems = [r for r in e.problems() if r.id not in not_verifiable]
        on_content = not problems
        out.append(
            {
                "file": str(path),
                "grid": {"id": grid.id, "version": grid.version, "sha256": grid.sha256},
                "letter_id": reading.facts.letter_id,
                "criteria": {r.id: None if r.id in not_verifiable else r.result.value for r in e.items},
                "compliant": None if on_content and not_verifiable else on_content,
                "compliant_on_content": on_content,
                "problems": [
                    {"criterion": r.id, "explanation": r.explanation, "field": r.field} for r in problems
                ],
                "not_verifiable": [
                    {"criterion": i, "explanation": NOT_VERIFIABLE_FR} for i in not_verifiable
                ],
                "medication_source": reading.medication_source,
                "notes": reading.notes,
            }
        )
    return out


__all__ = ["NS", "CdaFileResult", "CdaReadError", "CdaReading", "audit_cda_files", "parse_ts", "read_cda"]
