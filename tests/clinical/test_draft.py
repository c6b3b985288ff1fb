"""Drafting from the record (pure): proposals with sources, reconciliation, never over the
physician's text."""

from __future__ import annotations

import datetime as dt

from liaison.clinical import codes, draft
from liaison.core.content import LetterContent
from liaison.letters import medicines

AT = dt.datetime(2026, 11, 12, 9, 0, tzinfo=dt.UTC)
PHARMA = {"message": "RDE^O11", "at": AT, "author": "Dr Paul PRESCRIPTEUR"}


def med(kind: str, name: str, cis: str, dosage: str, atc: str = "", **extra) -> draft.Medicine:
    return draft.Medicine(**PHARMA, kind=kind, name=name, cis=cis, atc=atc, dosage=dosage, **extra)


def record() -> draft.Record:
    lab = {"message": "ORU^R01", "at": AT, "author": "Anne BIOLOGISTE"}
    return draft.Record(
        results=[
            draft.Result(
                **lab,
                code="718-7",
                label="Hémoglobine",
                value="8.1",
                unit="g/dL",
                reference_range="12-16",
                flag="L",
                observed_at=AT - dt.timedelta(days=2),
            ),
            draft.Result(
                **lab,
                code="718-7",
                label="Hémoglobine",
                value="9.2",
                unit="g/dL",
                reference_range="12-16",
                flag="L",
                observed_at=AT,
            ),
            draft.Result(**lab, code="2823-3", label="Potassium", value="4.1", unit="mmol/L", observed_at=AT),
            draft.Result(**lab, code="600-7", label="Hémoculture", status="pending", observed_at=AT),
        ],
        medicines=[
            med("entree", "AMLODIPINE ARROW 5 mg, gélule", "66340498", "1 gélule le matin"),
            med("entree", "FUROSEMIDE ARROW 40 mg", "60192594", "1 comprimé le matin"),
            med("entree", "ZOPICLONE ARROW LAB 3,75 mg", "61271518", "1 comprimé au coucher"),
            med(
                "sortie",
                "AMLODIPINE ARROW 5 mg, gélule",
                "66340498",
                "1 gélule le matin",
                duration="au long cours",
            ),
            med("sortie", "FUROSEMIDE ARROW 40 mg", "60192594", "2 comprimés le matin", duration="30 jours"),
            med("sortie", "ELIQUIS 5 mg", "61902218", "1 comprimé 2 fois par jour", duration="3 mois"),
            med("sejour", "LOVENOX", "60782303", "1 injection par jour"),
        ],
        diagnoses=[
            draft.Coding(
                message="ADT^A08",
                at=AT,
                author="DIM",
                code="I50.0",
                label="Insuffisance cardiaque congestive",
                principal=True,
            ),
            draft.Coding(
                message="ADT^A08", at=AT, author="DIM", code="I10", label="Hypertension essentielle"
            ),
        ],
        procedures=[
            draft.Coding(
                message="ADT^A08",
                at=AT,
                author="DIM",
                code="DEQP003",
                label="Électrocardiographie",
                performed_at=AT,
            )
        ],
        allergies=[
            draft.AllergyFact(
                message="ADT^A08",
                at=AT,
                author="GAM",
                label="Amoxicilline",
                kind="médicament",
                severity="sévère",
                reaction="urticaire",
            )
        ],
    )


def test_proposals_with_sources():
    found = draft.proposals(record())
    assert found["reason"].value == "Insuffisance cardiaque congestive (I50.0)"
    assert found["reason"].sources[0].message == "ADT^A08"
    exams = found["procedures_and_exams"].value
    assert "Électrocardiographie (CCAM DEQP003)" in exams
    assert "Hémoglobine : 9,2 g/dL (normales 12-16), bas" in exams  # the latest value only
    assert "8,1" not in exams and "Potassium" not in exams  # normal results are not significant
    hb = next(s for s in found["procedures_and_exams"].sources if "Hémoglobine" in s.item)
    assert (hb.message, hb.author) == ("ORU^R01", "Anne BIOLOGISTE")
    assert found["pending_results"].value[0]["description"].startswith("Hémoculture")
    assert found["allergies"].value == {
        "present": True,
        "details": "Amoxicilline (médicament ; réaction : urticaire ; sévère)",
    }


def test_reconciliation_entry_vs_discharge():
    lines, sources = draft.reconcile(record().medicines)
    table = [(m.medicine.split()[0], m.status, m.usual_treatment, m.dosage, m.reason) for m in lines]
    assert table == [
        (
            "AMLODIPINE",
            "poursuivi",
            "AMLODIPINE ARROW 5 mg, gélule — 1 gélule le matin",
            "1 gélule le matin",
            "",
        ),
        ("FUROSEMIDE", "modifie", "FUROSEMIDE ARROW 40 mg — 1 comprimé le matin", "2 comprimés le matin", ""),
        ("ELIQUIS", "nouveau", "", "1 comprimé 2 fois par jour", ""),
        ("ZOPICLONE", "arrete", "ZOPICLONE ARROW LAB 3,75 mg — 1 comprimé au coucher", "", ""),
    ]
    assert all(s.message == "RDE^O11" for s in sources)
    # The stay-only Lovenox is not a discharge treatment; no discharge prescription: nothing yet.
    assert draft.reconcile([m for m in record().medicines if m.kind != "sortie"]) is None


def test_merge_fills_untouched_sections_and_never_overwrites_the_physician():
    found = draft.proposals(record())
    content = LetterContent(medical_summary="Texte du médecin")
    filled = draft.merge(content, found)
    assert filled.reason == found["reason"].value and len(filled.medications) == 4
    assert draft.section_states(filled)["reason"] == "a_verifier"
    assert draft.merge(filled, found) == filled  # nothing new: no change
    # The physician edits the reason; then a new main diagnosis arrives.
    edited = filled.model_copy(update={"reason": "Décompensation cardiaque sur arrêt du traitement"})
    assert draft.section_states(edited)["reason"] == "verifie"
    newer = dict(found, reason=draft.Proposal("Pneumopathie (J18.9)", found["reason"].sources))
    merged = draft.merge(edited, newer)
    assert merged.reason == "Décompensation cardiaque sur arrêt du traitement"
    assert merged.prefill["reason"].update == "Pneumopathie (J18.9)"
    assert draft.section_states(merged)["reason"] == "mise_a_jour"
    # An untouched section does follow the record.
    newer_results = dict(newer, procedures_and_exams=draft.Proposal("Actes :\n- autre", []))
    assert draft.merge(merged, newer_results).procedures_and_exams == "Actes :\n- autre"
    # Taking the update, or keeping one's text.
    assert draft.accept_update(merged, "reason").reason == "Pneumopathie (J18.9)"
    kept = draft.dismiss_update(merged, "reason")
    assert kept.reason == edited.reason and draft.merge(kept, newer) == kept


def test_a_none_tick_is_an_answer_not_an_empty_section():
    found = draft.proposals(record())
    content = LetterContent(no_pending_results=True)
    merged = draft.merge(content, found)
    assert merged.pending_results == [] and merged.prefill["pending_results"].update


def test_form_round_trip_is_not_an_edit():
    found = draft.proposals(record())
    filled = draft.merge(LetterContent(), found)
    typed = filled.model_copy(
        update={"procedures_and_exams": filled.procedures_and_exams.replace("\n", "\r\n")}
    )
    assert draft.section_states(typed)["procedures_and_exams"] == "a_verifier"


def test_curated_codes_are_real_bdpm_medicines():
    names = medicines.cis_names()
    for drug in codes.DRUGS:
        assert names.get(drug.cis) == drug.label, drug.cis
