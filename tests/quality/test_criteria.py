"""Each criterion of each shipped grid, pinned on hand-built letters: met, not met, not applicable.

The CASES table is what a quality manager would check by hand: one change to a complete letter
and the result expected for that criterion, with the form field the clinician must fix. A test
also fails if a grid item has no "met" and no "not met" case here, so a new grid item cannot ship
untested.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from liaison.core.content import (
    ExitMode,
    FollowUpItem,
    FollowUpKind,
    ImplantedDevice,
    LetterContent,
    LetterFacts,
    PendingResult,
    Presence,
    Professional,
)
from liaison.demo.synthetic.letters import complete_letter, paris
from liaison.quality.evaluate import evaluate
from liaison.quality.grid import GRIDS_DIR, all_grids, load_grid, parse_grid
from liaison.quality.rules import Result

MET, NOT_MET, NA = Result.MET, Result.NOT_MET, Result.NOT_APPLICABLE
V1, V2, CA, DEC = "qls/mco/v1-2016", "qls/mco/v2-2022", "qls/ca/v2-2022", "decret/all/r1112-1-2"
QLS_V2 = (V2, CA)
ALL = (V1, V2, CA, DEC)
V2_DEC = (V2, CA, DEC)

Mutation = Callable[[LetterContent, LetterFacts], None]


@dataclass(frozen=True)
class Case:
    grids: tuple[str, ...]
    item: str
    change: str  # what a reviewer would read
    mutate: Mutation
    expected: Result
    field: str = ""  # expected form field when not met


def c_set(**values: object) -> Mutation:
    def m(c: LetterContent, f: LetterFacts) -> None:
        for k, v in values.items():
            setattr(c, k, v)

    return m


def f_set(**values: object) -> Mutation:
    def m(c: LetterContent, f: LetterFacts) -> None:
        for k, v in values.items():
            setattr(f, k, v)

    return m


def both(*ms: Mutation) -> Mutation:
    def m(c: LetterContent, f: LetterFacts) -> None:
        for one in ms:
            one(c, f)

    return m


def med(i: int, **values: object) -> Mutation:
    def m(c: LetterContent, f: LetterFacts) -> None:
        lines = list(c.medications)
        lines[i] = lines[i].model_copy(update=values)
        c.medications = lines

    return m


def nothing(c: LetterContent, f: LetterFacts) -> None:
    pass


NO_ONE = c_set(medecin_traitant=None, adresseur=None, receiving_structure=None)
NAMELESS = Professional(phone="01 00 00 00 00")
NO_CONTACT = Professional(title="Dr", family_name="SANSCONTACT")
# The complete letter's discharge day is 14/03/2024 11:00 Paris (UTC+1).
NEXT_DAY = paris(2024, 3, 15, 9, 0)

CASES = [
    # gates
    Case(ALL, "found", "lettre retrouvée", nothing, MET),
    Case(ALL, "found", "lettre absente du dossier", f_set(exists=False), NOT_MET, "letter"),
    Case((V1,), "dated_same_day", "signée le jour de la sortie", nothing, MET),
    Case((V1,), "dated_same_day", "non signée", f_set(signed_at=None), NOT_MET, "signature"),
    Case((V1,), "dated_same_day", "signée le lendemain", f_set(signed_at=NEXT_DAY), NOT_MET, "signature"),
    Case(
        (V1,), "dated_same_day", "date de sortie absente", c_set(discharge_at=None), NOT_MET, "discharge_at"
    ),
    Case((V1,), "handed_over", "remise tracée", nothing, MET),
    Case((V1,), "handed_over", "remise le lendemain (v1 : acceptée)", f_set(handed_over_at=NEXT_DAY), MET),
    Case((V1,), "handed_over", "remise non tracée", f_set(handed_over_at=None), NOT_MET, "handover"),
    Case(V2_DEC, "handed_over_same_day", "remise le jour de la sortie", nothing, MET),
    Case(
        V2_DEC,
        "handed_over_same_day",
        "remise le lendemain",
        f_set(handed_over_at=NEXT_DAY),
        NOT_MET,
        "handover",
    ),
    Case(
        V2_DEC, "handed_over_same_day", "remise non tracée", f_set(handed_over_at=None), NOT_MET, "handover"
    ),
    # decree: sending to the médecin traitant
    Case((DEC,), "sent_to_medecin_traitant", "envoyée le jour même", nothing, MET),
    Case(
        (DEC,),
        "sent_to_medecin_traitant",
        "envoyée le lendemain",
        f_set(sent_to_medecin_traitant_at=NEXT_DAY),
        NOT_MET,
        "recipients",
    ),
    Case(
        (DEC,),
        "sent_to_medecin_traitant",
        "pas de médecin traitant déclaré",
        c_set(medecin_traitant=None, no_medecin_traitant=True),
        NA,
    ),
    # identifications
    Case(ALL, "patient_identification", "identité complète", nothing, MET),
    Case(
        ALL,
        "patient_identification",
        "date de naissance absente",
        lambda c, f: setattr(c.patient, "birth_date", None),
        NOT_MET,
        "patient",
    ),
    Case(
        ALL,
        "patient_identification",
        "prénom absent",
        lambda c, f: setattr(c.patient, "first_given_name", " "),
        NOT_MET,
        "patient",
    ),
    Case((V1,), "addressee", "médecin traitant avec coordonnées", nothing, MET),
    Case((V1,), "addressee", "seul un adresseur, avec coordonnées", c_set(medecin_traitant=None), MET),
    Case(
        (V1,),
        "addressee",
        "aucun destinataire, « pas de médecin traitant » coché",
        both(NO_ONE, c_set(no_medecin_traitant=True)),
        NA,
    ),
    Case((V1,), "addressee", "aucun destinataire, rien coché", NO_ONE, NOT_MET, "medecin_traitant"),
    Case(
        (V1,),
        "addressee",
        "destinataire sans coordonnées",
        both(NO_ONE, c_set(medecin_traitant=NO_CONTACT)),
        NOT_MET,
        "medecin_traitant",
    ),
    Case(V2_DEC, "medecin_traitant", "médecin traitant nommé", nothing, MET),
    Case(
        V2_DEC,
        "medecin_traitant",
        "pas de médecin traitant déclaré",
        c_set(medecin_traitant=None, no_medecin_traitant=True),
        NA,
    ),
    Case(
        V2_DEC, "medecin_traitant", "non renseigné", c_set(medecin_traitant=None), NOT_MET, "medecin_traitant"
    ),
    Case(
        V2_DEC, "medecin_traitant", "sans nom", c_set(medecin_traitant=NAMELESS), NOT_MET, "medecin_traitant"
    ),
    Case((DEC,), "adresseur", "adresseur nommé", nothing, MET),
    Case((DEC,), "adresseur", "pas d'adresseur", c_set(adresseur=None), NA),
    Case((DEC,), "adresseur", "adresseur sans nom", c_set(adresseur=NAMELESS), NOT_MET, "adresseur"),
    Case((V1,), "signatory", "nom et téléphone", nothing, MET),
    Case(
        (V1,),
        "signatory",
        "pas de médecin signataire",
        c_set(responsible_physician=None),
        NOT_MET,
        "responsible_physician",
    ),
    Case(
        (V1,),
        "signatory",
        "médecin sans coordonnées, établissement sans téléphone",
        both(c_set(responsible_physician=NO_CONTACT), lambda c, f: setattr(c.establishment, "phone", "")),
        NOT_MET,
        "responsible_physician",
    ),
    Case(
        (V1,),
        "signatory",
        "médecin sans coordonnées, téléphone de l'établissement",
        c_set(responsible_physician=NO_CONTACT),
        MET,
    ),
    Case(QLS_V2, "signatory", "signée par un médecin nommé", nothing, MET),
    Case(QLS_V2, "signatory", "non signée", f_set(signed_at=None), NOT_MET, "signature"),
    Case(
        QLS_V2,
        "signatory",
        "signée par une sage-femme",
        f_set(signer_profession="sage_femme"),
        NOT_MET,
        "responsible_physician",
    ),
    Case(
        QLS_V2,
        "signatory",
        "médecin non nommé",
        c_set(responsible_physician=None),
        NOT_MET,
        "responsible_physician",
    ),
    Case((DEC,), "physician", "médecin nommé", nothing, MET),
    Case(
        (DEC,),
        "physician",
        "médecin absent",
        c_set(responsible_physician=None),
        NOT_MET,
        "responsible_physician",
    ),
    # dates and modalities
    Case((V1, V2, CA), "stay_dates", "dates présentes", nothing, MET),
    Case(
        (V1, V2, CA), "stay_dates", "date d'entrée absente", c_set(admission_at=None), NOT_MET, "admission_at"
    ),
    Case(
        (V1, V2, CA),
        "stay_dates",
        "sortie avant l'entrée",
        c_set(admission_at=paris(2024, 3, 20)),
        NOT_MET,
        "discharge_at",
    ),
    Case((DEC,), "stay_dates_and_modes", "dates et modalités présentes", nothing, MET),
    Case(
        (DEC,),
        "stay_dates_and_modes",
        "modalité d'entrée absente",
        c_set(entry_mode=None),
        NOT_MET,
        "entry_mode",
    ),
    Case(
        (DEC,),
        "stay_dates_and_modes",
        "modalité de sortie absente",
        c_set(exit_mode=None),
        NOT_MET,
        "exit_mode",
    ),
    Case((V1,), "destination", "retour au domicile", nothing, MET),
    Case(
        (V1,),
        "destination",
        "ni mode de sortie ni destination",
        c_set(exit_mode=None, destination=""),
        NOT_MET,
        "exit_mode",
    ),
    Case(
        (V1,),
        "destination",
        "EHPAD sans structure nommée",
        c_set(exit_mode=ExitMode.EHPAD, destination=""),
        NOT_MET,
        "receiving_structure",
    ),
    # 2°, 3°, 5°
    Case(ALL, "reason", "motif présent", nothing, MET),
    Case(ALL, "reason", "motif vide (espaces)", c_set(reason="  "), NOT_MET, "reason"),
    Case(ALL, "medical_summary", "synthèse présente", nothing, MET),
    Case(ALL, "medical_summary", "synthèse absente", c_set(medical_summary=""), NOT_MET, "medical_summary"),
    Case((V1,), "procedures_and_exams", "actes présents", nothing, MET),
    Case(
        (V1,),
        "procedures_and_exams",
        "actes absents",
        c_set(procedures_and_exams=""),
        NOT_MET,
        "procedures_and_exams",
    ),
    Case(
        (V1,),
        "procedures_and_exams",
        "« aucun acte ni examen complémentaire » coché",
        c_set(procedures_and_exams="", no_procedures_and_exams=True),
        MET,
    ),
    Case(
        (V1,),
        "procedures_and_exams",
        "« aucun acte ni examen » coché et actes décrits",
        c_set(no_procedures_and_exams=True),
        NOT_MET,
        "procedures_and_exams",
    ),
    Case((V1,), "hospital_risks", "tout déclaré absent", nothing, MET),
    Case(
        (V1,),
        "hospital_risks",
        "événements indésirables sans réponse",
        c_set(adverse_events=Presence()),
        NOT_MET,
        "adverse_events",
    ),
    Case(
        (V1,),
        "hospital_risks",
        "transfusion « oui » sans précision",
        c_set(transfusion=Presence(present=True)),
        NOT_MET,
        "transfusion.details",
    ),
    Case((DEC,), "adverse_events", "déclarés absents", nothing, MET),
    Case(
        (DEC,),
        "adverse_events",
        "décrits",
        c_set(adverse_events=Presence(present=True, details="Chute sans gravité J2")),
        MET,
    ),
    Case(
        (DEC,), "adverse_events", "sans réponse", c_set(adverse_events=Presence()), NOT_MET, "adverse_events"
    ),
    Case((DEC,), "resistant_organisms", "déclarées absentes", nothing, MET),
    Case(
        (DEC,),
        "resistant_organisms",
        "sans réponse",
        c_set(resistant_organisms=Presence()),
        NOT_MET,
        "resistant_organisms",
    ),
    Case((DEC,), "blood_products", "déclarés absents", nothing, MET),
    Case(
        (DEC,),
        "blood_products",
        "dérivés du sang sans réponse",
        c_set(blood_derivatives=Presence()),
        NOT_MET,
        "blood_derivatives",
    ),
    Case((DEC,), "implanted_devices", "déclaré absent", nothing, MET),
    Case(
        (DEC,),
        "implanted_devices",
        "posé, listé dans les dispositifs",
        c_set(
            implanted_devices=Presence(present=True),
            devices=[ImplantedDevice(description="Stimulateur cardiaque")],
        ),
        MET,
    ),
    Case(
        (DEC,),
        "implanted_devices",
        "posé, sans précision",
        c_set(implanted_devices=Presence(present=True)),
        NOT_MET,
        "implanted_devices.details",
    ),
    Case((DEC,), "pending_results", "« aucun résultat attendu »", nothing, MET),
    Case(
        (DEC,),
        "pending_results",
        "résultat listé",
        c_set(no_pending_results=False, pending_results=[PendingResult(description="Anatomopathologie")]),
        MET,
    ),
    Case(
        (DEC,),
        "pending_results",
        "ni listé ni déclaré absent",
        c_set(no_pending_results=False),
        NOT_MET,
        "pending_results",
    ),
    # 4° treatments
    Case(ALL, "drug_treatment", "complet", nothing, MET),
    Case(ALL, "drug_treatment", "aucune ligne, rien coché", c_set(medications=[]), NOT_MET, "medications"),
    Case(
        ALL,
        "drug_treatment",
        "« aucun traitement à la sortie » coché",
        c_set(medications=[], no_discharge_medication=True),
        MET,
    ),
    Case(
        ALL,
        "drug_treatment",
        "« aucun traitement » coché mais une ligne poursuivie",
        c_set(no_discharge_medication=True),
        NOT_MET,
        "medications",
    ),
    Case(
        ALL, "drug_treatment", "posologie absente ligne 1", med(0, dosage=""), NOT_MET, "medications.0.dosage"
    ),
    Case(
        V2_DEC,
        "drug_treatment",
        "durée absente ligne 2",
        med(1, duration=""),
        NOT_MET,
        "medications.1.duration",
    ),
    Case((V1,), "drug_treatment", "durée absente ligne 2 (v1 : non exigée)", med(1, duration=""), MET),
    Case(
        V2_DEC,
        "drug_treatment",
        "motif de l'arrêt absent ligne 3",
        med(2, reason=""),
        NOT_MET,
        "medications.2.reason",
    ),
    Case(
        V2_DEC,
        "drug_treatment",
        "statut absent ligne 1 (non exigé : le CDA LDL-SES ne le porte pas)",
        med(0, status=None),
        MET,
    ),
    Case(
        V2_DEC,
        "drug_treatment",
        "médicament arrêté sans posologie ni durée",
        med(2, dosage="", duration=""),
        MET,
    ),
    # 6° follow-up
    Case(ALL, "care_planning", "rendez-vous pris", nothing, MET),
    Case(
        ALL,
        "care_planning",
        "« aucune suite particulière » coché",
        c_set(follow_up=[], no_follow_up=True),
        MET,
    ),
    Case(ALL, "care_planning", "ni suite ni mention", c_set(follow_up=[]), NOT_MET, "follow_up"),
    Case(
        ALL,
        "care_planning",
        "suite sans description",
        c_set(follow_up=[FollowUpItem(kind=FollowUpKind.SURVEILLANCE, description=" ")]),
        NOT_MET,
        "follow_up.0.description",
    ),
    # ambulatory surgery
    Case((CA,), "emergency_contact", "numéro présent", nothing, MET),
    Case(
        (CA,), "emergency_contact", "numéro absent", c_set(emergency_contact=""), NOT_MET, "emergency_contact"
    ),
    Case(
        (CA,),
        "emergency_contact",
        "numéro tronqué",
        c_set(emergency_contact="15"),
        NOT_MET,
        "emergency_contact",
    ),
]

# The decree grid names these items differently.
ALIASES = {(DEC, "drug_treatment"): "discharge_treatment", (DEC, "care_planning"): "follow_up"}


# The 2026 grids reuse the v2 MCO rules: every v2 case runs on them too, where they hold the item.
V2_LIKE = ("qls/mco/v2-2026", "qls/smr/v2-2026", "qls/psy/v2-2026")


def expand() -> list[tuple[str, str, Case]]:
    out = []
    for case in CASES:
        grids = list(case.grids)
        if V2 in grids:
            grids += [g for g in V2_LIKE if case.item in {i.id for i in load_grid(g).items}]
        for grid_id in grids:
            out.append((grid_id, ALIASES.get((grid_id, case.item), case.item), case))
    return out


EXPANDED = expand()


@pytest.mark.parametrize(
    ("grid_id", "item_id", "case"), EXPANDED, ids=[f"{g}:{i}:{c.change}" for g, i, c in EXPANDED]
)
def test_criterion(grid_id: str, item_id: str, case: Case) -> None:
    grid = load_grid(grid_id)
    content, facts = complete_letter()
    case.mutate(content, facts)
    result = evaluate(content, facts, grid)[item_id]
    assert result.result is case.expected, result.explanation
    if case.expected is NOT_MET:
        assert result.field == case.field
        assert result.explanation.startswith(grid.item(item_id).explanation_fr.rstrip("."))
    else:
        assert result.explanation == "" and result.field == ""


def test_every_grid_item_has_met_and_not_met_cases() -> None:
    covered: dict[tuple[str, str], set[Result]] = {}
    for grid_id, item_id, case in EXPANDED:
        covered.setdefault((grid_id, item_id), set()).add(case.expected)
    for grid in all_grids():
        for item in grid.items:
            seen = covered.get((grid.id, item.id), set())
            assert {MET, NOT_MET} <= seen, f"{grid.id}:{item.id} sans cas « oui » et « non »"


def test_complete_letter_is_compliant_everywhere() -> None:
    content, facts = complete_letter()
    for grid in all_grids():
        e = evaluate(content, facts, grid)
        assert e.compliant and e.score_v1 == 100.0, (grid.id, e.problems())
        assert (e.grid_id, e.grid_version, e.grid_sha256) == (grid.id, grid.version, grid.sha256)


def test_absence_statement_false_refuses_a_mention_of_absence() -> None:
    text = (GRIDS_DIR / "qls/mco/v2-2022.yaml").read_text()
    strict = parse_grid(
        text.replace("absence_statement: true", "absence_statement: false").encode(), "test/strict"
    )
    content, facts = complete_letter()
    content.follow_up, content.no_follow_up = [], True
    content.medications, content.no_discharge_medication = [], True
    e = evaluate(content, facts, strict)
    assert e["care_planning"].result is NOT_MET and e["drug_treatment"].result is NOT_MET
    assert "ne suffit pas" in e["care_planning"].explanation


def test_v1_no_procedures_needs_absence_statement() -> None:
    """Criterion 12 of v1 accepts "no procedure" only because its grid says absence_statement: true."""
    text = (GRIDS_DIR / "qls/mco/v1-2016.yaml").read_text()
    block = text[text.index("  - id: procedures_and_exams") : text.index("  - id: drug_treatment")]
    assert "absence_statement: true" in block and "notre lecture" in block
    strict = parse_grid(
        text.replace(block, block.replace("absence_statement: true", "absence_statement: false")).encode(),
        "test/v1-strict",
    )
    content, facts = complete_letter()
    content.procedures_and_exams, content.no_procedures_and_exams = "", True
    assert evaluate(content, facts, load_grid(V1))["procedures_and_exams"].result is MET
    result = evaluate(content, facts, strict)["procedures_and_exams"]
    assert result.result is NOT_MET and "ne suffit pas" in result.explanation
