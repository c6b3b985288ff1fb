"""A letter drafted from the hospital's messages against the same letter typed by hand, in one
run, in Chromium: interactions and time from opening the letter to a signable, compliant letter.

Two stays of the same unit leave today. The first one's laboratory, pharmacy and coding messages
went through the listener's entry point; the second one has none, and the physician types what
the first one was given (same reason, results, treatments, allergy, pending result). Both then
need what no message carries: the medical summary, the « le cas échéant » answers, the reason of
the modified treatment, the follow-up; the drafted one also needs its five « vérifié » ticks.

Counted: clicks (buttons, links, radios, boxes, list choices), fields typed into, and the key
presses that typing needs (one per character). The measures are printed, and written to
`docs/measures/drafting.txt` (which the README quotes) when LIAISON_SCREENSHOTS is set; the
times are the automated browser's, not a person's.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import Locator, Page, expect

from liaison.clinical import feeds
from liaison.core.identifiers import OID_INS_NIR_TEST
from liaison.ingest.apply import clear_caches, process
from liaison.letters import lifecycle
from liaison.letters.models import Letter, Patient, Stay
from tests.conftest import valid_finess, valid_nir
from tests.ingest.messages import adt
from tests.web.test_browser import login, page, server_url, shot, ward  # noqa: F401 (fixtures)

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SUMMARY = "Décompensation cardiaque sur écart de régime, amélioration sous diurétiques IV."
MODIFIED_REASON = "Surcharge persistante"


@dataclass
class Tally:
    clicks: int = 0
    fields: int = 0
    keys: int = 0

    @property
    def actions(self) -> int:
        return self.clicks + self.fields

    @property
    def modelled_seconds(self) -> float:
        """A person's time by the keystroke-level model (Card, Moran & Newell): pointing 1.1 s and
        a button press 0.2 s per click or field reached, 0.28 s per key (average typist)."""
        return (self.clicks + self.fields) * 1.3 + self.keys * 0.28

    @property
    def interactions(self) -> int:
        """The issue's count: clicks + key presses in fields."""
        return self.clicks + self.keys

    def click(self, target: Locator) -> None:
        target.click()
        self.clicks += 1

    def check(self, target: Locator) -> None:
        target.check()
        self.clicks += 1

    def select(self, target: Locator, value: str) -> None:
        target.select_option(value)
        self.clicks += 2  # open the list, choose

    def type(self, target: Locator, text: str) -> None:
        target.fill(text)
        self.fields += 1
        self.keys += len(text)


def _feed_first_stay() -> None:
    clear_caches()
    finess = valid_finess(2)
    common = {
        "ipp": "IPP001",
        "nda": "V001",
        "facility": finess,
        "sent": timezone.localtime().strftime("%Y%m%d%H%M"),
    }
    orders = [
        feeds.LabOrder(
            "D1",
            "24360-0",
            "Bilan",
            "F",
            "",
            [
                feeds.Obs("718-7", "Hémoglobine", "10.9", "g/dL", "12-16", "L"),
                feeds.Obs("2823-3", "Potassium", "3.1", "mmol/L", "3.5-5", "L"),
                feeds.Obs("33762-6", "NT-proBNP", "4200", "ng/L", "0-125", "H"),
                feeds.Obs("2951-2", "Sodium", "138", "mmol/L", "135-145"),
                feeds.Obs("14682-9", "Créatinine", "98", "µmol/L", "45-104"),
            ],
        ),
        feeds.LabOrder("D2", "600-7", "Hémoculture", "I", ""),
    ]
    meds = [
        feeds.MedOrder("H1", "66340498", "", "1", "gélule", "QD", kind="H"),
        feeds.MedOrder("H2", "60192594", "", "1", "comprimé", "QAM", kind="H"),
        feeds.MedOrder("H3", "62080626", "", "1", "comprimé", "QAM", kind="H"),
        feeds.MedOrder("O1", "66340498", "", "1", "gélule", "QD", kind="O", duration_days=90),
        feeds.MedOrder("O2", "60192594", "", "2", "comprimé", "QAM", kind="O", duration_days=30),
        feeds.MedOrder("O3", "62080626", "", "1", "comprimé", "QAM", kind="O", duration_days=90),
        feeds.MedOrder("O4", "63145849", "", "1", "comprimé", "QD", kind="O", duration_days=30),
    ]
    coding = [
        feeds.dg1(1, "I50.0", "Insuffisance cardiaque congestive", True),
        feeds.pr1(1, "DZQM006", "Échographie-doppler transthoracique du cœur", ""),
        feeds.al1(1, "J01CA04", "Amoxicilline", "DA", "SV", "urticaire"),
    ]
    who = {
        "ipp": "IPP001",
        "nda": "V001",
        "family": "DUPONT",
        "given": "Marie",
        "given_names": "Marie Louise",
    }
    for text in (
        feeds.oru("F1", **common, orders=orders, biologist="1&BIOLOGISTE&Anne"),
        feeds.pharmacy("F2", **common, orders=meds, prescriber="2^MEDECIN^Test^^^Dr"),
        "\r".join([adt("A08", "F3", **who, admit="202611100900"), *coding]),
    ):
        out = process(text)
        assert out.code == "AA", out.reason


@pytest.fixture
def two_stays(ward):  # noqa: F811
    """The `ward` of the browser tests (its stay leaves today), plus a second stay leaving with it."""
    hospital, first = ward, ward["stay"]
    user = hospital["users"]["medecin"]
    p = hospital["patient"]
    other = Patient.objects.create(
        establishment=hospital["est"],
        ipp="IPP002",
        ins_matricule=valid_nir("1", "5003", "45234", "018"),
        ins_oid=OID_INS_NIR_TEST,
        identity_status="qualifiee",
        birth_family_name="DURAND",
        first_given_name="Paul",
        birth_date=dt.date(1950, 3, 2),
        sex="M",
        medecin_traitant=p.medecin_traitant,
    )
    second = Stay.objects.create(
        establishment=hospital["est"],
        patient=other,
        unit=hospital["cardio"],
        visit_number="V002",
        admission_at=first.admission_at,
        discharge_at=first.discharge_at,
        entry_mode="urgence",
        exit_mode="domicile",
        responsible_physician=user.practitioner,
    )
    _feed_first_stay()
    return {**hospital, "drafted": ward["letter"], "by_hand": lifecycle.open_letter(second)}


def _common_part(tab: Page, t: Tally) -> None:
    """What no message carries: the summary, the « le cas échéant » answers, the follow-up."""
    t.type(tab.locator("#f-medical_summary"), SUMMARY)
    for name in (
        "adverse_events",
        "resistant_organisms",
        "transfusion",
        "blood_derivatives",
        "implanted_devices",
    ):
        t.check(tab.locator(f"#f-{name}-non"))
    t.check(tab.locator("#f-resistant_organisms_screened-non"))
    t.check(tab.locator("#f-no_follow_up"))


def _until_signable(tab: Page) -> None:
    panel = tab.locator("#qls-panel")
    expect(panel).to_contain_text("Dossier conforme", timeout=30_000)  # QLS met and sections verified
    expect(panel.locator("#sign-state")).to_contain_text("Aucun blocage de signature")


def _drafted(tab: Page, base: str, letter: Letter) -> tuple[Tally, float, Letter]:
    t = Tally()
    start = time.perf_counter()
    t.click(
        tab.locator("#stays tbody tr", has_text="DUPONT Marie").get_by_role("link", name="Voir la lettre")
    )
    expect(tab.locator("#prefill-medications")).to_be_visible()
    shot(tab, "5-lettre-pre-remplie")
    _common_part(tab, t)
    modified = tab.locator("[data-list=medications] select[name$='.status'] option[selected][value=modifie]")
    index = modified.locator("xpath=ancestor::fieldset[1]").get_attribute("data-index")
    t.type(tab.locator(f"#f-medications-{index}-reason"), MODIFIED_REASON)
    for section in ("reason", "procedures_and_exams", "allergies", "medications", "pending_results"):
        t.check(tab.locator(f"#f-prefill-{section}-verified"))
    _until_signable(tab)
    elapsed = time.perf_counter() - start
    shot(tab, "6-lettre-pre-remplie-verifiee")
    if os.environ.get("LIAISON_SCREENSHOTS"):  # the drafted treatment table at three widths
        for width in (390, 1024, 1400):
            tab.set_viewport_size({"width": width, "height": 1000})
            tab.locator("#f-medications").scroll_into_view_if_needed()
            shot(tab, f"7-conciliation-{width}")
        tab.set_viewport_size({"width": 1400, "height": 1000})
    expect(tab.locator("#autosave")).to_contain_text("Brouillon enregistré", timeout=20_000)
    return t, elapsed, Letter.objects.get(pk=letter.pk)


def _by_hand(tab: Page, letter: Letter, model: Letter) -> tuple[Tally, float]:
    """Type, in the second letter, what the first one was given by the record."""
    c = model.parsed()
    t = Tally()
    start = time.perf_counter()
    t.click(tab.locator("#stays tbody tr", has_text="DURAND Paul").get_by_role("link", name="Voir la lettre"))
    t.type(tab.locator("#f-reason"), c.reason)
    t.type(tab.locator("#f-procedures_and_exams"), c.procedures_and_exams)
    _common_part(tab, t)
    t.check(tab.locator("#f-allergies-oui"))
    t.type(tab.locator("#f-allergies-details"), c.allergies.details)
    for i, m in enumerate(c.medications):
        t.click(tab.get_by_role("button", name="Ajouter un médicament"))
        t.type(tab.locator(f"#f-medications-{i}-medicine"), m.medicine)
        t.select(tab.locator(f"#f-medications-{i}-status"), m.status.value)
        for name in ("usual_treatment", "dosage", "duration", "reason"):
            value = getattr(m, name)
            if value:
                t.type(tab.locator(f"#f-medications-{i}-{name}"), value)
    for i, r in enumerate(c.pending_results):
        t.click(tab.get_by_role("button", name="Ajouter un résultat attendu"))
        t.type(tab.locator(f"#f-pending_results-{i}-description"), r.description)
    _until_signable(tab)
    elapsed = time.perf_counter() - start
    expect(tab.locator("#autosave")).to_contain_text("Brouillon enregistré", timeout=20_000)
    typed = Letter.objects.get(pk=letter.pk).parsed()
    assert [m.medicine for m in typed.medications] == [m.medicine for m in c.medications]
    return t, elapsed


def test_drafted_letter_against_typed_by_hand(two_stays, server_url, page):  # noqa: F811
    login(page, server_url, "u_medecin")
    drafted, drafted_s, model = _drafted(page, server_url, two_stays["drafted"])
    c = model.parsed()
    assert c.reason.startswith("Insuffisance cardiaque congestive") and len(c.medications) == 4
    assert {m.status for m in c.medications} == {"poursuivi", "modifie", "nouveau"}
    page.goto(f"{server_url}/")
    by_hand, hand_s = _by_hand(page, two_stays["by_hand"], model)
    lines = [
        "Lettre pré-remplie par les flux (biologie, pharmacie, codage) contre la même lettre "
        "saisie à la main,",
        "même exécution, Chromium ; de l'ouverture de la lettre à « Dossier conforme », "
        "sans blocage de signature :",
        f"  flux  : {drafted.clicks} clics + {drafted.fields} champs saisis = {drafted.actions} actions ; "
        f"{drafted.keys} frappes ; clics + frappes = {drafted.interactions} ; {drafted_s:.1f} s",
        f"  main  : {by_hand.clicks} clics + {by_hand.fields} champs saisis = {by_hand.actions} actions ; "
        f"{by_hand.keys} frappes ; clics + frappes = {by_hand.interactions} ; {hand_s:.1f} s",
        f"  rapports main/flux : actions {by_hand.actions / drafted.actions:.1f} ; "
        f"clics + frappes {by_hand.interactions / drafted.interactions:.1f} ; "
        f"frappes {by_hand.keys / drafted.keys:.1f} ; "
        f"temps du navigateur automatisé {hand_s / drafted_s:.1f}",
        f"  temps d'une personne estimé (modèle KLM) : flux {drafted.modelled_seconds:.0f} s, "
        f"main {by_hand.modelled_seconds:.0f} s, "
        f"rapport {by_hand.modelled_seconds / drafted.modelled_seconds:.1f}",
    ]
    print("\n".join(lines))
    if os.environ.get("LIAISON_SCREENSHOTS"):  # regenerating the README's documents
        out = ROOT / "docs" / "measures"
        out.mkdir(parents=True, exist_ok=True)
        (out / "drafting.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert drafted.actions <= 15
    assert by_hand.interactions >= 5 * drafted.interactions
