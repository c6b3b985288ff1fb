"""The clinician's screens in a real browser (Debian Chromium driven by Playwright) against a real
`liaison runserver` process: a physician fills a near-empty draft until the live QLS panel says
it is complete, signs after the preview; a secretary records the hand-over from the worklist.
Plus keyboard-only use and an axe-core check (no serious or critical violation).

`LIAISON_SCREENSHOTS=1` saves the key screens under docs/screenshots/.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connections
from django.utils import timezone
from playwright.sync_api import Page, expect, sync_playwright

from liaison.letters import lifecycle
from liaison.letters.models import AuditEvent, Letter

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "tests" / "web" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
SHOTS = ROOT / "docs" / "screenshots"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def page(monkeypatch):
    # Playwright's sync API keeps an event loop in this thread; the ORM calls the test makes
    # around it are ordinary synchronous ones.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        pg = browser.new_page(viewport={"width": 1400, "height": 1000}, locale="fr-FR")
        pg.set_default_timeout(15_000)
        yield pg
        browser.close()
        # ORM calls made while Playwright's loop runs get their own connection: close it here.
        connections.close_all()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def liaison_server(port: int | None = None, env: dict[str, str] | None = None) -> Iterator[str]:
    """`liaison runserver` in its own process, on the test database (what a user really runs),
    with `env` added to its environment; yields its base URL once it answers."""
    db = settings.DATABASES["default"]
    url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    port = port or free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "liaison.cli", "runserver", "--noreload", f"127.0.0.1:{port}"],
        env={**os.environ, "DATABASE_URL": url, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{base}/connexion/", timeout=2)
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, "runserver did not start"
                time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def server_url(transactional_db):
    with liaison_server() as base:
        yield base


@pytest.fixture
def ward(hospital, settings):
    """The hospital's patient leaves today; passwords the server can check; a near-empty draft."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]  # the server's
    for user in hospital["users"].values():
        user.set_password("secret-demo")
        user.save()
    stay = hospital["stay"]
    stay.discharge_at = timezone.now() - dt.timedelta(minutes=30)
    stay.admission_at = stay.discharge_at - dt.timedelta(days=3)
    stay.save()
    hospital["letter"] = lifecycle.open_letter(stay)  # pre-filled from the stay only
    return hospital


def shot(page: Page, name: str, settle_ms: int = 0) -> None:
    if os.environ.get("LIAISON_SCREENSHOTS"):
        page.wait_for_timeout(settle_ms)
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=False)


def login(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/connexion/")
    page.get_by_label("Identifiant").fill(username)
    page.get_by_label("Mot de passe").fill("secret-demo")
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("heading", name="Sorties du jour")).to_be_visible()


def axe_violations(page: Page) -> list[dict]:
    assert AXE.exists(), f"axe-core absent : lancez `npm ci --prefix {AXE.parents[2]}`"
    # Evaluated through the browser's devtools protocol: the page's CSP forbids inline scripts.
    page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate(
        "async () => (await axe.run(document, {runOnly: {type: 'tag', values: "
        "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})).violations"
    )
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result
        if v["impact"] in ("serious", "critical")
    ]


def test_fill_sign_and_hand_over(ward, server_url, page):
    letter = ward["letter"]
    login(page, server_url, "u_medecin")
    row = page.locator("#stays tbody tr", has_text="DUPONT Marie")
    expect(row).to_contain_text("Brouillon")
    expect(row).to_contain_text("compléter la lettre")
    shot(page, "1-sorties-du-jour")
    row.get_by_role("link", name="Voir la lettre").click()

    panel = page.locator("#qls-panel")
    expect(panel).to_contain_text("Dossier non conforme")
    # each item of the panel leads to its field
    panel.get_by_role("link", name="Motif de l'hospitalisation", exact=True).click()
    expect(page.locator("#f-reason")).to_be_focused()
    page.locator("#f-reason").fill("Décompensation cardiaque globale")
    expect(panel.locator("li.met", has_text="Motif de l'hospitalisation")).to_be_visible()
    page.get_by_role("textbox", name="Synthèse médicale", exact=True).fill(
        "Insuffisance cardiaque décompensée, amélioration sous diurétiques."
    )
    for name in (
        "adverse_events",
        "resistant_organisms",
        "transfusion",
        "blood_derivatives",
        "implanted_devices",
    ):
        page.locator(f"#f-{name}-non").check()
    page.locator("#f-resistant_organisms_screened-oui").check()

    page.get_by_role("button", name="Ajouter un médicament").click()
    med = page.locator("#f-medications-0-medicine")
    expect(med).to_be_focused()
    med.press_sequentially("FUROSEMIDE ARR", delay=20)
    # the datalist offers the product typed (after the lines in DCI, ranked by strength)
    expect(
        page.locator('#bdpm-options option[value="FUROSEMIDE ARROW 40 mg, comprimé sécable"]')
    ).to_have_count(1)
    med.fill("FUROSEMIDE ARROW 40 mg, comprimé sécable")
    page.locator("#f-medications-0-status").select_option("modifie")
    page.locator("#f-medications-0-dosage").fill("1 cp le matin")
    page.locator("#f-medications-0-reason").fill("Posologie doublée : surcharge")
    expect(panel).to_contain_text("durée absente")
    page.locator("#f-medications-0-duration").fill("au long cours")
    # a second line, moved above the first, then removed: no reload
    page.get_by_role("button", name="Ajouter un médicament").click()
    page.locator("#f-medications-1-medicine").fill("PARACETAMOL TEVA 500 mg, gélule")
    page.locator("fieldset.row", has_text="Médicament 2").get_by_role("button", name="Monter").click()
    expect(page.locator("#f-medications-0-medicine")).to_have_value("PARACETAMOL TEVA 500 mg, gélule")
    page.locator("fieldset.row", has_text="Médicament 1").get_by_role("button", name="Supprimer").click()
    expect(page.locator("#f-medications-0-medicine")).to_have_value(
        "FUROSEMIDE ARROW 40 mg, comprimé sécable"
    )
    expect(page.locator("#f-medications-1-medicine")).to_have_count(0)

    # The recipients' directory: a known professional's MSSanté address and RPPS follow the name.
    page.get_by_role("button", name="Ajouter un destinataire").click()
    row = page.locator("[data-list=recipients] fieldset.row").last
    name = row.locator("input[name$='.name']")
    name.press_sequentially("génér", delay=20)
    expect(page.locator("#correspondent-options option").first).to_have_attribute(
        "value", "Dr Anne Généraliste"
    )
    name.fill("Dr Anne Généraliste")
    name.dispatch_event("change")
    expect(row.locator("input[name$='.mssante']")).to_have_value("anne.generaliste@medecin.mssante.fr")
    expect(row.locator("input[name$='.rpps']")).to_have_value(ward["gp"].rpps)
    row.get_by_role("button", name="Supprimer").click()

    page.get_by_role("button", name="Ajouter une suite").click()
    page.locator("#f-follow_up-0-kind").select_option("rdv_pris")
    page.locator("#f-follow_up-0-description").fill("Consultation de cardiologie")
    page.locator("#f-follow_up-0-date").fill((timezone.localdate() + dt.timedelta(days=14)).isoformat())
    expect(panel).to_contain_text("Aucun blocage de signature")
    expect(page.locator("#autosave")).to_contain_text("Brouillon enregistré", timeout=20_000)
    shot(page, "2-lettre-controle-qls")
    for _ in range(40):  # the last autosave (the page may show an earlier one's message)
        saved = Letter.objects.get(pk=letter.pk).parsed()
        if saved.medications and saved.medications[0].medicine.endswith("sécable"):
            break
        page.wait_for_timeout(500)
    assert [m.medicine for m in saved.medications] == ["FUROSEMIDE ARROW 40 mg, comprimé sécable"]
    assert saved.medications[0].cis == "60192594"

    page.get_by_role("link", name="Vérifier et signer").click()
    expect(page.get_by_role("heading", name="Aperçu, non signé")).to_be_visible()
    expect(page.locator("iframe.pdf")).to_have_attribute("src", f"/lettres/{letter.pk}/apercu.pdf")
    shot(page, "3-verifier-et-signer", settle_ms=3000)  # the PDF viewer draws the preview
    page.get_by_role("button", name="Signer la lettre").click()
    expect(page.get_by_role("status").first).to_have_text("Lettre signée.")
    expect(page.locator("#letter-state")).to_have_text("Signée")
    expect(page.locator("#deliveries")).to_contain_text("Envois")
    expect(page.get_by_role("link", name="Lettre PDF (patient)")).to_be_visible()

    page.get_by_role("button", name="Se déconnecter").click()
    login(page, server_url, "u_secretaire")
    row = page.locator("#stays tbody tr", has_text="DUPONT Marie")
    expect(row).to_contain_text("Signée")
    expect(row.get_by_role("link", name="Imprimer (PDF)")).to_be_visible()
    row.get_by_role("button", name="Remise au patient").click()
    expect(page.get_by_role("status").first).to_have_text("Remise au patient enregistrée.")
    expect(page.locator("#stays tbody tr", has_text="DUPONT Marie")).to_contain_text("Remise au patient")
    shot(page, "4-remise-enregistree")
    stored = Letter.objects.get(pk=letter.pk)
    assert stored.status == Letter.Status.SIGNED and stored.handed_over_by.username == "u_secretaire"
    assert AuditEvent.objects.filter(action="hand_over", object_id=str(letter.pk)).exists()


def test_keyboard_only(ward, server_url, page):
    letter = ward["letter"]
    page.goto(f"{server_url}/connexion/")
    expect(page.locator("#id_username")).to_be_focused()  # autofocus
    page.keyboard.type("u_medecin")
    page.keyboard.press("Tab")
    page.keyboard.type("secret-demo")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Sorties du jour")).to_be_visible()
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Aller au contenu")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#contenu")).to_be_focused()
    # tab to the patient's link and open it with Enter
    for _ in range(30):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent").strip().startswith("DUPONT"):
            break
    page.keyboard.press("Enter")
    expect(page.locator("#letter-form")).to_be_visible()
    # the focus is visible: a 3 px outline on the focused control
    page.locator("#f-reason").focus()
    assert page.evaluate("getComputedStyle(document.activeElement).outlineWidth") == "3px"
    # add a row with the keyboard: focus lands in it; move it with the keyboard
    page.get_by_role("button", name="Ajouter un médicament").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#f-medications-0-medicine")).to_be_focused()
    page.keyboard.type("ASPIRINE")
    page.get_by_role("button", name="Ajouter un médicament").focus()
    page.keyboard.press("Enter")
    page.keyboard.type("BISOPROLOL")
    page.locator("fieldset.row", has_text="Médicament 2").get_by_role("button", name="Monter").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#f-medications-0-medicine")).to_have_value("BISOPROLOL")
    expect(
        page.locator("fieldset.row", has_text="Médicament 1").get_by_role("button", name="Monter")
    ).to_be_focused()
    # a panel link keeps the focus when the panel refreshes under it (htmx restores it by id),
    # and followed with Enter puts the caret in the field to fix
    link = page.locator("#qls-panel").get_by_role("link", name="Suivi médical pendant le séjour")
    link.focus()
    focused = page.evaluate("document.activeElement.dataset.before = 'refresh'; document.activeElement.id")
    assert focused
    with page.expect_response(lambda r: r.url.endswith("/controle/")):
        page.evaluate("htmx.trigger('#letter-form', 'liaison-rows')")
    # the link now focused is the refreshed panel's (no mark), not the one it replaced
    page.wait_for_function(
        "id => document.activeElement.id === id && !document.activeElement.dataset.before", arg=focused
    )
    page.keyboard.press("Enter")
    expect(page.locator("#f-medical_summary")).to_be_focused()
    # radios answered with the keyboard
    page.locator("#f-adverse_events-oui").focus()
    page.keyboard.press("Space")
    expect(page.locator("#f-adverse_events-oui")).to_be_checked()
    assert Letter.objects.get(pk=letter.pk).status == Letter.Status.DRAFT


def test_no_serious_accessibility_violation(ward, server_url, page):
    letter = ward["letter"]
    page.goto(f"{server_url}/connexion/")
    assert axe_violations(page) == []
    login(page, server_url, "u_medecin")
    assert axe_violations(page) == []
    page.goto(f"{server_url}/lettres/{letter.pk}/")
    page.get_by_role("button", name="Ajouter un médicament").click()
    page.get_by_role("button", name="Ajouter une suite").click()
    page.locator("summary", has_text="Check-list de sortie").click()
    expect(page.locator("#qls-panel")).to_contain_text("Dossier non conforme")
    assert axe_violations(page) == []
    page.goto(f"{server_url}/lettres/{letter.pk}/signer/")
    assert axe_violations(page) == []
    page.goto(f"{server_url}/sejours/")
    assert axe_violations(page) == []
    # the intern's hand-off: submit, « à valider » for the senior, returned with a comment
    from liaison.letters.models import LetterReview

    page.get_by_role("button", name="Se déconnecter").click()
    login(page, server_url, "u_interne")
    page.goto(f"{server_url}/lettres/{letter.pk}/")
    expect(page.locator("#review-submit")).to_be_visible()
    assert axe_violations(page) == []
    pending = LetterReview.objects.create(
        letter=letter, submitted_by=ward["users"]["interne"], submitted_at=timezone.now(), note="Relire"
    )
    page.get_by_role("button", name="Se déconnecter").click()
    login(page, server_url, "u_medecin")
    expect(page.locator("#to-validate")).to_be_visible()
    assert axe_violations(page) == []
    page.goto(f"{server_url}/lettres/{letter.pk}/")
    expect(page.locator("#review-return")).to_be_visible()
    assert axe_violations(page) == []
    LetterReview.objects.filter(pk=pending.pk).update(
        outcome=LetterReview.Outcome.RETURNED,
        answered_by=ward["users"]["medecin"],
        answered_at=timezone.now(),
        comment="Préciser la durée.",
    )
    page.get_by_role("button", name="Se déconnecter").click()
    login(page, server_url, "u_interne")
    expect(page.locator("#returned")).to_be_visible()
    assert axe_violations(page) == []
