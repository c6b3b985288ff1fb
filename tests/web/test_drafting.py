"""The letter drafted from the hospital's messages: opening pre-fills with sources, « Reprendre
les données du dossier », newer data beside the physician's text, the QLS panel's « à vérifier »."""

from __future__ import annotations

import pytest

from liaison.clinical import feeds
from liaison.ingest.apply import clear_caches, process
from liaison.letters import lifecycle
from liaison.letters.models import AuditEvent, Letter
from tests.conftest import valid_finess
from tests.ingest.messages import adt

pytestmark = pytest.mark.django_db

FINESS_EG = valid_finess(2)
SENT = "202611121000"


def send(text: str) -> None:
    out = process(text)
    assert out.code == "AA", out.reason


def adt_a08(control: str, segments: list[str]) -> str:
    """An A08 of the fixture's patient and stay, carrying DG1/PR1/AL1 segments."""
    identity = {
        "ipp": "IPP001",
        "nda": "V001",
        "family": "DUPONT",
        "given": "Marie",
        "given_names": "Marie Louise",
    }
    return "\r".join([adt("A08", control, **identity, admit="202611100900"), *segments])


def feed(hospital, diagnosis=("I50.0", "Insuffisance cardiaque congestive")) -> None:
    clear_caches()
    common = {"ipp": "IPP001", "nda": "V001", "facility": FINESS_EG, "sent": SENT}
    send(
        feeds.oru(
            "R1",
            **common,
            biologist="1&BIOLOGISTE&Anne",
            orders=[
                feeds.LabOrder(
                    "D1",
                    "24360-0",
                    "Hémogramme",
                    "F",
                    "202611110700",
                    [feeds.Obs("718-7", "Hémoglobine", "9.2", "g/dL", "12-16", "L")],
                ),
                feeds.LabOrder("D2", "600-7", "Hémoculture", "I", "202611110700"),
            ],
        )
    )
    send(
        feeds.pharmacy(
            "P1",
            **common,
            prescriber="2^PRESCRIPTEUR^Paul^^^Dr",
            orders=[
                feeds.MedOrder("E1", "60192594", "", "1", "comprimé", "QAM", kind="H"),
                feeds.MedOrder("S1", "60192594", "", "2", "comprimé", "QAM", kind="O", duration_days=30),
            ],
        )
    )
    send(
        adt_a08(
            f"A-{diagnosis[0]}",
            [
                feeds.dg1(1, *diagnosis, True),
                feeds.al1(1, "J01CA04", "Amoxicilline", "DA", "SV", "urticaire"),
            ],
        )
    )


def test_opening_the_letter_prefills_with_sources(client, hospital):
    feed(hospital)
    letter = lifecycle.open_letter(hospital["stay"])
    client.force_login(hospital["users"]["medecin"])
    page = client.get(f"/lettres/{letter.pk}/").content.decode()
    c = Letter.objects.get(pk=letter.pk).parsed()
    assert c.reason == "Insuffisance cardiaque congestive (I50.0)"
    assert "Hémoglobine : 9,2 g/dL (normales 12-16), bas" in c.procedures_and_exams
    assert c.pending_results[0].description.startswith("Hémoculture")
    assert c.allergies.present is True and "Amoxicilline" in c.allergies.details
    (line,) = c.medications
    assert (line.status, line.dosage, line.duration) == ("modifie", "2 comprimé le matin", "30 jours")
    assert line.usual_treatment.endswith("1 comprimé le matin") and line.reason == ""
    assert "pré-rempli, à vérifier" in page and "Données reprises du dossier" in page
    assert "ORU^R01 du 12/11/2026 10:00, Anne BIOLOGISTE" in page  # the source of the result
    assert "RDE^O11" in page and "Dr Paul PRESCRIPTEUR" in page
    assert "Reprendre les données du dossier" in page
    assert AuditEvent.objects.filter(object_id=str(letter.pk), why__startswith="pré-remplissage").count() == 1
    client.get(f"/lettres/{letter.pk}/")  # nothing new: no second write
    assert AuditEvent.objects.filter(object_id=str(letter.pk), why__startswith="pré-remplissage").count() == 1


def test_verified_tick_and_newer_data_beside_the_physicians_text(client, hospital):
    feed(hospital)
    letter = lifecycle.open_letter(hospital["stay"])
    client.force_login(hospital["users"]["medecin"])
    client.get(f"/lettres/{letter.pk}/")
    letter = Letter.objects.get(pk=letter.pk)
    c = letter.parsed()
    # The live panel: a ticked section is « vérifié ».
    form = {"reason": c.reason, "prefill.reason.verified": "on"}
    frag = client.post(f"/lettres/{letter.pk}/controle/", form).content.decode()
    assert 'data-prefill-state="verifie"' in frag and 'data-prefill-state="a_verifier"' in frag
    # The physician rewrites the reason and saves; the coder then sends another main diagnosis.
    lifecycle.save_draft(
        letter.pk, c.model_copy(update={"reason": "Mon motif"}), letter.revision, hospital["users"]["medecin"]
    )
    feed(hospital, diagnosis=("J18.9", "Pneumopathie, sans précision"))
    resp = client.post(f"/lettres/{letter.pk}/dossier/")
    assert resp.status_code == 302
    letter = Letter.objects.get(pk=letter.pk)
    assert letter.parsed().reason == "Mon motif"
    page = client.get(f"/lettres/{letter.pk}/").content.decode()
    assert "Nouvelles données du dossier" in page and "Pneumopathie, sans précision (J18.9)" in page
    client.post(f"/lettres/{letter.pk}/dossier/section/", {"prefill_action": "reprendre:reason"})
    assert Letter.objects.get(pk=letter.pk).parsed().reason == "Pneumopathie, sans précision (J18.9)"


@pytest.mark.parametrize(
    "role,allowed",
    [
        ("medecin", True),
        ("interne", True),
        ("sage_femme", True),
        ("secretaire", True),
        ("infirmier", False),
        ("qualite", False),
        ("admin_etablissement", False),
        ("campagne", False),
        (None, False),
    ],
)
def test_record_refresh_by_role(client, hospital, role, allowed):
    feed(hospital)
    letter = lifecycle.open_letter(hospital["stay"])
    if role:
        client.force_login(hospital["users"][role])
    for url, data in (
        (f"/lettres/{letter.pk}/dossier/", {}),
        (f"/lettres/{letter.pk}/dossier/section/", {"prefill_action": "reprendre:reason"}),
    ):
        resp = client.post(url, data)
        assert resp.status_code in (302, 403, 404)
        if role is None:
            assert "/connexion/" in resp["Location"]
    written = Letter.objects.get(pk=letter.pk).parsed().reason != ""
    assert written == allowed
