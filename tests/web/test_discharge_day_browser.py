"""The ward's discharge day in a real browser (Chromium, Playwright) against `liaison runserver`.

The GAM's messages go through the real ingest (`ingest.apply.process`, what the MLLP listener
calls); deliveries through the real worker to the loopback DMP sandbox. The signature is real,
so the day's clock is the test's: the planned discharge is within the hour, the hand-over is
recorded just after the signature (the issue's 13:50) and the A03 comes after it (its 16:30):

1. A01 (PV2-9) then A16 (« domicile »); the letter is completed; the physician confirms the
   planned discharge and signs before any A03; the nurse records the hand-over; the A03 says
   « domicile »: the letter is consistent, nothing to correct.
2. A second stay signed the same way, whose A03 says « mutation »: the worklist shows it as to
   correct, with what differs; the physician opens the correction (pre-filled with the GAM's
   values) and signs it; the DMP sandbox holds the replacement (RPLC), one current document.
"""

from __future__ import annotations

import datetime as dt
import json
import urllib.request

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from liaison.delivery import dmp, vihf, worker
from liaison.delivery.config import DmpConfig
from liaison.demo.sandboxes.dmp import Sandbox, StaticPatients, Store, start
from liaison.ingest.apply import process
from liaison.letters import lifecycle
from liaison.letters.models import PARIS, DischargeCheck, Letter, Stay
from tests.conftest import complete_content_updates, later_today, valid_nir
from tests.ingest.messages import MEDECIN_RPPS, adt
from tests.web.test_browser import login, page, server_url  # noqa: F401 (fixtures)

pytestmark = pytest.mark.slow


def hl7(when: dt.datetime) -> str:
    return timezone.localtime(when, PARIS).strftime("%Y%m%d%H%M")


def minute(when: dt.datetime) -> dt.datetime:
    return when.replace(second=0, microsecond=0)


PLANNED = later_today(dt.timedelta(minutes=45))


@pytest.fixture
def dmp_sandbox(tmp_path, monkeypatch):
    box = Sandbox(Store(tmp_path / "dmp"), StaticPatients(), [vihf.demo_authority().read_bytes()])
    server, _ = start(box)
    monkeypatch.setenv("LIAISON_DMP_URL", server.url)
    monkeypatch.setattr(worker, "_SENDERS", {})
    dmp.configure(DmpConfig.from_env())
    yield box, server.url
    server.shutdown()
    server.server_close()


@pytest.fixture
def ward(hospital, settings, dmp_sandbox):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]  # the server's
    for user in hospital["users"].values():
        user.set_password("secret-demo")
        user.save()
    return hospital


def gam(event: str, n: int, **kw) -> None:
    """One message of the GAM for patient n (IPP n, NDA n), through the real ingest."""
    out = process(
        adt(
            event,
            f"DAY{n}-{event}-{kw.pop('tag', '')}",
            ipp=f"IPPJ{n}",
            nda=f"NDAJ{n}",
            nir=valid_nir(order=f"{n:03d}"),
            family=("LEFEVRE", "MOREL")[n - 1],
            given=("Jeanne", "Paul")[n - 1],
            given_names=("Jeanne", "Paul")[n - 1],
            admit=hl7(PLANNED - dt.timedelta(days=3)),
            attending_rpps=MEDECIN_RPPS,
            sent=hl7(timezone.now()) + "00",
            **kw,
        )
    )
    assert out.code == "AA", out.reason


def complete(hospital, n: int) -> Letter:
    """The clinical part of the letter, as the team wrote it during the stay."""
    letter = Stay.objects.get(visit_number=f"NDAJ{n}").letters.get()
    content = letter.parsed().model_copy(update=complete_content_updates())
    return lifecycle.save_draft(letter.pk, content, letter.revision, hospital["users"]["medecin"])


def dmp_documents(url: str, ins: str) -> list[dict]:
    with urllib.request.urlopen(f"{url}documents?ins={ins}", timeout=10) as r:
        return json.loads(r.read())


def sign_in_browser(pg: Page, base: str, letter: Letter) -> None:
    pg.goto(f"{base}/lettres/{letter.pk}/")
    expect(pg.locator("#discharge-planned")).to_contain_text("à confirmer")
    expect(pg.locator("#f-planned_discharge-at")).to_have_value(
        timezone.localtime(PLANNED, PARIS).strftime("%Y-%m-%dT%H:%M")
    )
    expect(pg.locator("#f-planned_discharge-exit_mode")).to_have_value("domicile")
    panel = pg.locator("#qls-panel")
    expect(panel).to_contain_text("Sortie prévue à confirmer")
    pg.get_by_label("Je confirme la sortie prévue").check()
    expect(panel).not_to_contain_text("Sortie prévue à confirmer")
    expect(pg.locator("#autosave")).to_contain_text("Brouillon enregistré", timeout=20_000)
    pg.get_by_role("link", name="Vérifier et signer").click()
    pg.get_by_role("button", name="Signer la lettre").click()
    expect(pg.get_by_role("status").first).to_have_text("Lettre signée.")
    expect(pg.locator("#letter-state")).to_have_text("Signée")


def test_the_wards_discharge_day(ward, server_url, page, dmp_sandbox):  # noqa: F811
    box, dmp_url = dmp_sandbox
    for n in (1, 2):
        box.patients.ins.add(valid_nir(order=f"{n:03d}"))
        gam("A01", n, expected_discharge=hl7(PLANNED))
        gam("A16", n, expected_discharge=hl7(PLANNED), zfm="|8", tag="a")
        complete(ward, n)

    # 1. Signed with the planned discharge, handed over, then the A03 « domicile ».
    first = Stay.objects.get(visit_number="NDAJ1").letters.get()
    login(page, server_url, "u_medecin")
    row = page.locator("#stays tbody tr", has_text="LEFEVRE Jeanne")
    expect(row).to_contain_text("sortie prévue")
    sign_in_browser(page, server_url, first)
    first.refresh_from_db()
    assert first.status == Letter.Status.SIGNED and first.discharge_check == DischargeCheck.PLANNED
    assert Stay.objects.get(visit_number="NDAJ1").discharge_at is None  # no A03 yet
    expect(page.locator("#discharge-planned")).to_contain_text("confirmée par le médecin")

    page.get_by_role("button", name="Se déconnecter").click()
    login(page, server_url, "u_infirmier")
    row = page.locator("#stays tbody tr", has_text="LEFEVRE Jeanne")
    expect(row).to_contain_text("signée sur la sortie prévue")
    row.get_by_role("button", name="Remise au patient").click()
    expect(page.get_by_role("status").first).to_have_text("Remise au patient enregistrée.")
    first.refresh_from_db()
    assert first.handed_over_at is not None and first.handed_over_at < PLANNED

    recorded = minute(timezone.now() + dt.timedelta(minutes=2))
    gam("A03", 1, discharge=hl7(recorded), zfm="|8")
    first.refresh_from_db()
    assert first.discharge_check == DischargeCheck.CONSISTENT and first.discharge_differences == []
    assert not first.stay.letters.filter(version=2).exists()
    page.goto(f"{server_url}/lettres/{first.pk}/")
    expect(page.locator("#discharge-check")).to_contain_text("Conforme à la sortie enregistrée")
    expect(page.locator("#discharge-recorded")).to_contain_text(
        timezone.localtime(recorded, PARIS).strftime("%H:%M")
    )
    worker.run_once("w-day")
    (doc,) = dmp_documents(dmp_url, first.stay.patient.ins_matricule)
    assert doc["status"] == "Approved"

    # 2. Signed the same way; the A03 says « mutation » instead of « domicile ».
    page.get_by_role("button", name="Se déconnecter").click()
    login(page, server_url, "u_medecin")
    second = Stay.objects.get(visit_number="NDAJ2").letters.get()
    sign_in_browser(page, server_url, second)
    worker.run_once("w-day")  # filed in the DMP before the A03
    gam("A03", 2, discharge=hl7(minute(timezone.now() + dt.timedelta(minutes=2))), zfm="|6||1")
    page.goto(f"{server_url}/")
    row = page.locator("#stays tbody tr", has_text="MOREL Paul")
    expect(row).to_contain_text("Lettre à corriger : la sortie enregistrée diffère")
    expect(row).to_contain_text(
        "lettre « Retour au domicile », sortie enregistrée « Autre établissement de santé »"
    )
    page.goto(f"{server_url}/sejours/")
    expect(page.locator("#all-stays tbody tr", has_text="MOREL Paul")).to_contain_text("à corriger")

    page.goto(f"{server_url}/lettres/{second.pk}/")
    expect(page.locator("#discharge-check")).to_contain_text("Modalité de sortie")
    page.get_by_label("Motif de la correction").fill("Sortie enregistrée : mutation, pas domicile")
    page.get_by_role("button", name="Ouvrir une correction").click()
    expect(page.locator("#discharge-recorded")).to_contain_text("Autre établissement de santé")
    page.get_by_role("link", name="Vérifier et signer").click()
    page.get_by_role("button", name="Signer la lettre").click()
    expect(page.get_by_role("status").first).to_have_text("Lettre signée.")

    second.refresh_from_db()
    corrected = second.stay.letters.get(version=2)
    assert second.status == Letter.Status.SUPERSEDED and corrected.status == Letter.Status.SIGNED
    assert corrected.discharge_check == DischargeCheck.CONSISTENT
    assert corrected.parsed().exit_mode == "autre_es" and second.parsed().exit_mode == "domicile"
    worker.run_once("w-day")
    docs = {d["uniqueId"]: d for d in dmp_documents(dmp_url, second.stay.patient.ins_matricule)}
    assert docs[second.document_oid]["status"] == "Deprecated"
    assert docs[corrected.document_oid]["status"] == "Approved"
    assert [d["status"] for d in docs.values()].count("Approved") == 1  # not two current documents
    page.goto(f"{server_url}/")
    expect(page.locator("#stays tbody tr", has_text="MOREL Paul")).not_to_contain_text("à corriger")
