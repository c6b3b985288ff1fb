"""Pure parts of the letter screens: form parsing, ANS masking rules, the HAS check-list data."""

from __future__ import annotations

import pytest

from liaison.core.content import (
    Channel,
    Confidentiality,
    LetterContent,
    MedicationStatus,
    Professional,
    Recipient,
    RecipientRole,
)
from liaison.delivery.routing import masking_errors
from liaison.web.checklist import load_checklist
from liaison.web.letter_form import field_id, parse_form
from tests.conftest import valid_rpps

BASE = LetterContent(medecin_traitant=Professional(family_name="Généraliste"))


def test_rows_in_screen_order_blank_rows_dropped_and_mapped():
    data = {
        "medications.3.medicine": "B",
        "medications.3.status": "nouveau",
        "medications.0.medicine": "",
        "medications.0.status": "",
        "medications.1.medicine": "FUROSEMIDE ARROW 40 mg, comprimé sécable",
        "medications.1.status": "arrete",
    }
    parsed = parse_form(BASE, data)
    assert [m.medicine for m in parsed.content.medications] == [
        "B",
        "FUROSEMIDE ARROW 40 mg, comprimé sécable",
    ]
    assert parsed.content.medications[1].status is MedicationStatus.ARRETE
    assert parsed.content.medications[1].cis == "60192594"  # chosen from the BDPM list
    assert parsed.screen_path("medications.1.reason") == "medications.1.reason"
    assert parsed.screen_path("medications.0.dosage") == "medications.3.dosage"


def test_presence_answers_flags_and_errors_tied_to_fields():
    parsed = parse_form(
        BASE,
        {
            "adverse_events.present": "non",
            "transfusion.present": "oui",
            "transfusion.details": "2 CGR",
            "no_medecin_traitant": "on",  # the GAM knows one: ignored
            "follow_up.0.kind": "rdv_pris",
            "follow_up.0.description": "Cardiologie",
            "follow_up.0.date": "31/02/2026",
            "recipients.0.role": "medecin_traitant",
            "recipients.0.mssante": "dr@gmail.com",
        },
    )
    c = parsed.content
    assert c.adverse_events.present is False and c.transfusion.present and c.transfusion.details == "2 CGR"
    assert c.resistant_organisms.present is None and not c.no_medecin_traitant
    assert parsed.errors["follow_up.0.date"].startswith("Date invalide")
    assert "MSSanté" in parsed.errors["recipients.0.mssante"]
    assert field_id("follow_up.0.date") == "f-follow_up-0-date" and field_id("patient") == "s-identites"


def test_a_recipient_medecin_traitant_names_him_only_when_the_gam_has_none():
    gp = {
        "recipients.0.role": "medecin_traitant",
        "recipients.0.name": "Dr Jean Durand",
        "recipients.0.rpps": valid_rpps(777),
        "no_medecin_traitant": "on",
    }
    mt = parse_form(LetterContent(), gp).content.medecin_traitant
    assert (mt.title, mt.family_name, mt.rpps, mt.source) == ("Dr", "Jean Durand", valid_rpps(777), "medecin")
    assert not parse_form(LetterContent(), gp).content.no_medecin_traitant
    assert parse_form(BASE, gp).content.medecin_traitant == BASE.medecin_traitant  # the GAM's wins
    named = parse_form(LetterContent(), gp).content
    assert parse_form(named, {}).content.medecin_traitant is None  # his row removed: none


def test_gam_fields_never_read_from_the_form():
    base = BASE.model_copy(update={"reason": "x"})
    parsed = parse_form(base, {"patient.birth_family_name": "PIRATE", "discharge_at": "2020-01-01"})
    assert parsed.content.patient == base.patient and parsed.content.discharge_at is None


def _letter(masked=False, invisible=False, legal=False, pro=True, patient=True) -> LetterContent:
    recipients = []
    if pro:
        recipients.append(Recipient(role=RecipientRole.MEDECIN_TRAITANT, mssante="a@medecin.mssante.fr"))
    if patient:
        recipients.append(Recipient(role=RecipientRole.PATIENT, channel=Channel.MSSANTE))
    conf = Confidentiality(
        masked_from_professionals=masked,
        invisible_to_patient=invisible,
        invisible_to_legal_representatives=legal,
    )
    return LetterContent(recipients=recipients, confidentiality=conf)


@pytest.mark.parametrize(
    ("kwargs", "refused"),
    [
        ({}, []),  # professionals and the patient, no mask
        ({"masked": True}, ["confidentiality.masked_from_professionals"]),
        ({"invisible": True}, ["confidentiality.invisible_to_patient"]),
        ({"legal": True}, ["confidentiality.invisible_to_legal_representatives"]),
        ({"invisible": True, "patient": False}, []),  # professionals only
        ({"invisible": True, "legal": True, "patient": False}, []),
        ({"masked": True, "pro": False}, []),  # the patient only
        ({"masked": True, "legal": True, "pro": False}, []),
        (
            {"masked": True, "invisible": True, "pro": False, "patient": False},
            ["confidentiality.invisible_to_patient"],
        ),
    ],
)
def test_ans_masking_matrix(kwargs, refused):
    assert [field for field, _ in masking_errors(_letter(**kwargs))] == refused


def test_has_checklist_data():
    cl = load_checklist()
    assert len(cl.items) == 15 and [b.id for b in cl.blocks] == [
        "complexite",
        "information",
        "contacts",
        "logistique",
    ]
    # The items whose HAS wording could not be found are left out, never shown as placeholders.
    assert [o.number for o in cl.omitted] == [13, 14, 16]
    assert {i.number for i in cl.items} == set(range(1, 19)) - {13, 14, 16}
    assert not [i for i in cl.items if "relu" in i.label_fr or "Item" in i.label_fr]
    assert cl.item(10).label_fr.startswith("Le pharmacien d'officine ou du service d'aval")
    assert {i.number for i in cl.items if not i.na_allowed} == {1, 2}
    assert {i.number for i in cl.items if i.low_risk_optional} == {10, 15}
    answers, errors = cl.clean_answers({"1": "na", "2": "oui", "3": "peut-être", "4": "na", "13": "oui"})
    assert answers == {"2": "oui", "4": "na"} and set(errors) == {1, 3}
