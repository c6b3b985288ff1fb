"""The catalogue of the letter's fields: one place that names each element of a discharge letter.

For every top-level field of `LetterContent`, in the decree's order (CSP R.1112-1-2, 1° to 6°,
then what is not the decree's): the element of the decree it serves, its names (in a sentence, as
a block of the letter form, as a « le cas échéant » question, as printed on the PDF), the LDL-SES
section (LOINC) and section-3 entry (TA_ASIP) the CDA writes it in, and the QLS criteria (grid
ids, `quality/grids`) that read it. The form, the content checks, the QLS rules' details, the CDA
sections, the PDF and the validator's tables read their names and codes here, so a new element
is one row, not six edits that can disagree.

Codes are the ones of the ANS LDL-SES volet (`standards/ldl-ses`), as the CDA writes them; the
templateIds of the sections stay with each section's writer (`documents/cda/sections`).

Pure Python, no Django, no other Liaison package.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

Decree = Literal["1°", "2°", "3°", "4°", "5°", "6°"]
# How the letter form edits a field: a GAM part (read-only), free text, a tick box, a
# « le cas échéant » question (`Presence`), a yes/no question, rows of a list, or otherwise.
Kind = Literal["gam", "text", "flag", "presence", "yes_no", "rows", "other"]


@dataclass(frozen=True)
class CdaSection:
    """An LDL-SES section: its LOINC code and display name, the title Liaison writes, and the
    form field a finding about the section points at."""

    code: str
    display: str
    title: str
    key: str | None


@dataclass(frozen=True)
class CdaEntry:
    """A coded entry of the section « Synthèse médicale du séjour » (42545-4): TA_ASIP code,
    specific templateId, display name, its name in a sentence, and whether the LDL-SES asks for
    it exactly once (else at most once)."""

    code: str
    template_id: str
    display: str
    label: str
    required: bool


@dataclass(frozen=True)
class Element:
    """One field of `LetterContent` (its path is `key`) as the letter's readers name it.

    `label` names it in a sentence (« Précisez : {label}. »); `title` is the block of the letter
    form it is edited in (None: not edited there); `question` the « le cas échéant » question the
    form asks; `printed` the label of its line on the PDF; `row` the name of one row of a list;
    `drafted` the name of the section the hospital's record drafts for it (`clinical.draft`).
    """

    key: str
    decree: Decree | None
    kind: Kind
    label: str
    title: str | None = None
    question: str | None = None
    printed: str | None = None
    row: str | None = None
    drafted: str | None = None
    sections: tuple[str, ...] = ()  # LOINC codes of the CDA sections that carry it
    entries: tuple[CdaEntry, ...] = ()
    criteria: tuple[str, ...] = ()  # ids of the QLS criteria that read it, in any grid


# The LDL-SES sections in document order (ldl-ses-cda.md §2).
STATUS = CdaSection("33557-0", "Etat d'achèvement", "Statut du document", None)
REASON = CdaSection("42349-1", "Raison de la recommandation", "Motif de l'hospitalisation", "reason")
SUMMARY = CdaSection("42545-4", "Evènements observés", "Synthèse médicale du séjour", "medical_summary")
STOPPED = CdaSection(
    "18610-6", "Traitements administrés", "Traitements arrêtés ou suspendus durant le séjour", "medications"
)
DISCHARGE = CdaSection("10183-2", "Traitements à la sortie", "Traitements à la sortie", "medications")
RESULTS = CdaSection(
    "30954-2",
    "Résultats d'examens",
    "Résultats d'examens / Autres informations attendus",
    "pending_results",
)
PLAN = CdaSection("18776-5", "Plan de soins", "Suites à donner", "follow_up")
DEVICES = CdaSection("46264-8", "Dispositifs médicaux", "Dispositifs médicaux", "devices")
ALLERGIES = CdaSection(
    "48765-2", "Allergies et hypersensibilités", "Allergies identifiées pendant le séjour", "allergies"
)
SECTIONS: Final = (STATUS, REASON, SUMMARY, STOPPED, DISCHARGE, RESULTS, PLAN, DEVICES, ALLERGIES)


def _entry(code: str, template: str, display: str, label: str, required: bool) -> CdaEntry:
    return CdaEntry(code, f"1.2.250.1.213.1.1.3.48.{template}", display, label, required)


ORG_070 = _entry("ORG-070", "6", "Modalité d'entrée", "modalité d'entrée", True)
ORG_074 = _entry("ORG-074", "7", "Modalité de sortie", "modalité de sortie", True)
MED_142 = _entry("MED-142", "9", "Synthèse médicale", "synthèse médicale du séjour", True)
MED_143 = _entry(
    "MED-143",
    "3",
    "Evènements indésirables survenus pendant l'hospitalisation",
    "événements indésirables",
    False,
)
MED_309 = _entry(
    "MED-309",
    "8",
    "Recherche de microorganismes multi-résistants ou émergents effectuée",
    "recherche de micro-organismes multirésistants",
    True,
)
MED_144 = _entry(
    "MED-144",
    "5",
    "Identification de micro-organismes multirésistants",
    "micro-organismes multirésistants identifiés",
    False,
)
MED_145 = _entry(
    "MED-145", "10", "Transfusion de produits sanguins", "transfusion de produits sanguins", True
)
MED_146 = _entry("MED-146", "1", "Accidents transfusionnels", "accident transfusionnel", False)
MED_147 = _entry(
    "MED-147", "2", "Administration de dérivés du sang", "administration de dérivés du sang", True
)
MED_148 = _entry(
    "MED-148",
    "4",
    "Evènements indésirables suite à l'administration de dérivés du sang",
    "événement indésirable après les dérivés du sang",
    False,
)

_S3 = (SUMMARY.code,)

ELEMENTS: Final[tuple[Element, ...]] = (
    # 1° identifications, dates and modalities of entry and exit
    Element("establishment", "1°", "gam", "établissement", criteria=("signatory",)),
    Element("patient", "1°", "gam", "identité du patient", criteria=("patient_identification",)),
    # The GAM's, or named by the physician as a recipient when the GAM knows none.
    Element(
        "medecin_traitant",
        "1°",
        "other",
        "médecin traitant",
        criteria=("addressee", "medecin_traitant", "sent_to_medecin_traitant"),
    ),
    Element(
        "no_medecin_traitant",
        "1°",
        "flag",
        "pas de médecin traitant",
        title="Médecin traitant",
        criteria=("addressee", "medecin_traitant", "sent_to_medecin_traitant"),
    ),
    # The médecin traitant the physician had named, replaced by the one the GAM sent later.
    Element("medecin_traitant_replaced", "1°", "other", "médecin traitant remplacé"),
    Element("adresseur", "1°", "gam", "praticien adresseur", criteria=("addressee", "adresseur")),
    Element(
        "responsible_physician",
        "1°",
        "gam",
        "médecin de l'établissement ayant pris en charge le patient",
        criteria=("physician", "signatory"),
    ),
    # The intern who prepared the letter for the senior who signs.
    Element("prepared_by", None, "other", "interne ayant préparé la lettre"),
    Element("receiving_structure", "1°", "gam", "structure d'aval", criteria=("addressee", "destination")),
    Element("sector", None, "other", "secteur d'activité"),
    Element("admission_at", "1°", "gam", "date d'entrée", criteria=("stay_dates", "stay_dates_and_modes")),
    Element(
        "discharge_at",
        "1°",
        "gam",
        "date de sortie",
        criteria=("dated_same_day", "handed_over_same_day", "stay_dates", "stay_dates_and_modes"),
    ),
    Element(
        "entry_mode",
        "1°",
        "gam",
        "modalité d'entrée",
        sections=_S3,
        entries=(ORG_070,),
        criteria=("stay_dates_and_modes",),
    ),
    Element(
        "exit_mode",
        "1°",
        "gam",
        "modalité de sortie",
        sections=_S3,
        entries=(ORG_074,),
        criteria=("destination", "stay_dates_and_modes"),
    ),
    Element("destination", "1°", "gam", "destination", sections=_S3, criteria=("destination",)),
    Element("discharge_recorded", "1°", "other", "sortie enregistrée par le GAM"),
    Element("planned_discharge", "1°", "other", "sortie prévue"),
    # 2° reason
    Element(
        "reason",
        "2°",
        "text",
        "motif de l'hospitalisation",
        title="Motif de l'hospitalisation",
        sections=(REASON.code,),
        criteria=("reason",),
        drafted="Motif de l'hospitalisation",
    ),
    # 3° medical summary and the « le cas échéant » items
    Element(
        "medical_summary",
        "3°",
        "text",
        "synthèse médicale du séjour",
        title="Synthèse médicale",
        sections=_S3,
        entries=(MED_142,),
        criteria=("medical_summary",),
    ),
    Element(
        "procedures_and_exams",
        "3°",
        "text",
        "actes et examens réalisés",
        title="Actes et examens",
        sections=_S3,
        criteria=("procedures_and_exams",),
        drafted="Actes, examens et résultats significatifs",
    ),
    Element(
        "no_procedures_and_exams",
        "3°",
        "flag",
        "aucun acte ni examen complémentaire",
        title="Actes et examens",
        sections=_S3,
        criteria=("procedures_and_exams",),
    ),
    Element(
        "adverse_events",
        "3°",
        "presence",
        "événements indésirables",
        title="Événements indésirables",
        question="Événements indésirables graves survenus pendant le séjour",
        printed="Événements indésirables pendant le séjour",
        sections=_S3,
        entries=(MED_143,),
        criteria=("adverse_events", "hospital_risks"),
    ),
    Element(
        "resistant_organisms_screened",
        "3°",
        "yes_no",
        "recherche de BMR/BHRe",
        title="BMR / BHRe",
        sections=_S3,
        entries=(MED_309,),
    ),
    Element(
        "resistant_organisms",
        "3°",
        "presence",
        "bactéries multirésistantes ou émergentes (BMR/BHRe)",
        title="BMR / BHRe",
        question="Bactérie multirésistante (BMR) ou hautement résistante émergente (BHRe) identifiée",
        printed="Bactéries multirésistantes ou émergentes (BMR/BHRe)",
        sections=_S3,
        entries=(MED_144,),
        criteria=("hospital_risks", "resistant_organisms"),
    ),
    Element(
        "transfusion",
        "3°",
        "presence",
        "transfusion de produits sanguins",
        title="Transfusion",
        question="Transfusion de produits sanguins labiles",
        printed="Transfusion de produits sanguins",
        sections=_S3,
        entries=(MED_145,),
        criteria=("blood_products", "hospital_risks"),
    ),
    Element(
        "transfusion_incident",
        "3°",
        "text",
        "accident transfusionnel",
        title="Transfusion",
        printed="Accident transfusionnel",
        sections=_S3,
        entries=(MED_146,),
    ),
    Element(
        "blood_derivatives",
        "3°",
        "presence",
        "administration de dérivés du sang",
        title="Dérivés du sang",
        question="Administration de médicaments dérivés du sang",
        printed="Administration de dérivés du sang",
        sections=_S3,
        entries=(MED_147,),
        criteria=("blood_products", "hospital_risks"),
    ),
    Element(
        "blood_derivatives_incident",
        "3°",
        "text",
        "événement indésirable après les dérivés du sang",
        title="Dérivés du sang",
        printed="Événement indésirable après les dérivés du sang",
        sections=_S3,
        entries=(MED_148,),
    ),
    Element(
        "implanted_devices",
        "3°",
        "presence",
        "dispositif médical implanté",
        title="Dispositifs implantés",
        question="Dispositif médical implanté",
        printed="Dispositif médical implanté",
        sections=(SUMMARY.code, DEVICES.code),
        criteria=("hospital_risks", "implanted_devices"),
    ),
    Element(
        "devices",
        "3°",
        "other",
        "dispositifs implantés",
        printed="Dispositif implanté",
        sections=(DEVICES.code,),
        criteria=("implanted_devices",),
    ),
    # Not one of the decree's « le cas échéant » items, asked beside them.
    Element(
        "allergies",
        None,
        "presence",
        "allergies ou intolérances",
        title="Allergies",
        question="Allergies ou intolérances découvertes ou à signaler",
        printed="Allergies ou intolérances identifiées",
        sections=(ALLERGIES.code,),
        drafted="Allergies",
    ),
    # 4° treatments at discharge and stopped
    Element(
        "medications",
        "4°",
        "rows",
        "traitement de sortie",
        title="Traitements de sortie",
        row="Traitement, ligne",
        sections=(STOPPED.code, DISCHARGE.code),
        criteria=("discharge_treatment", "drug_treatment"),
        drafted="Traitements à la sortie (conciliation)",
    ),
    Element(
        "no_discharge_medication",
        "4°",
        "flag",
        "aucun traitement à la sortie",
        title="Traitements de sortie",
        sections=(DISCHARGE.code,),
        criteria=("discharge_treatment", "drug_treatment"),
    ),
    # 5° pending results
    Element(
        "pending_results",
        "5°",
        "rows",
        "résultats attendus",
        title="Résultats attendus",
        row="Résultat attendu",
        sections=(RESULTS.code,),
        criteria=("pending_results",),
        drafted="Résultats en attente",
    ),
    Element(
        "no_pending_results",
        "5°",
        "flag",
        "aucun résultat attendu",
        title="Résultats attendus",
        sections=(RESULTS.code,),
        criteria=("pending_results",),
    ),
    # 6° follow-up
    Element(
        "follow_up",
        "6°",
        "rows",
        "suites à donner",
        title="Suites à donner",
        row="Suite à donner",
        sections=(PLAN.code,),
        criteria=("care_planning", "follow_up"),
    ),
    Element(
        "no_follow_up",
        "6°",
        "flag",
        "aucune suite particulière",
        title="Suites à donner",
        sections=(PLAN.code,),
        criteria=("care_planning", "follow_up"),
    ),
    Element(
        "emergency_contact",
        "6°",
        "text",
        "numéro à appeler en cas d'urgence",
        title="Numéro d'urgence",
        sections=(PLAN.code,),
        criteria=("emergency_contact",),
    ),
    # Not the decree's: who receives the letter, and the DMP's confidentiality.
    Element("recipients", None, "rows", "destinataires", title="Destinataires", row="Destinataire"),
    Element("confidentiality", None, "other", "confidentialité", title="Confidentialité"),
)

BY_KEY: Final = {e.key: e for e in ELEMENTS}
SECTION_BY_CODE: Final = {s.code: s for s in SECTIONS}
# The section-3 entries in the catalogue's order (the decree's).
ENTRIES: Final = tuple(entry for e in ELEMENTS for entry in e.entries)
ENTRY_BY_CODE: Final = {entry.code: entry for entry in ENTRIES}
FIELD_OF_ENTRY: Final = {entry.code: e.key for e in ELEMENTS for entry in e.entries}
# The « le cas échéant » items (`Presence` fields), in the order the form asks them.
PRESENCE: Final = tuple(e for e in ELEMENTS if e.kind == "presence")
PRESENCE_KEYS: Final = tuple(e.key for e in PRESENCE)


def label(key: str) -> str:
    """The name of a field in a sentence (« Précisez : {label}. »)."""
    return BY_KEY[key].label
