"""The demo in a real browser (Debian Chromium driven by Playwright): a physician logs in,
finds a patient, signs the letter; a nurse records the hand-over."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect, sync_playwright

from liaison.letters import lifecycle
from liaison.letters.models import Letter
from tests.conftest import complete_content_updates

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
        pg = browser.new_page()
        yield pg
        browser.close()


@pytest.mark.django_db(transaction=True)
def test_sign_then_hand_over_in_the_browser(live_server, page, hospital):
    for user in hospital["users"].values():
        user.set_password("secret-demo")
        user.save()
    letter = lifecycle.open_letter(hospital["stay"])
    lifecycle.save_draft(
        letter.pk,
        letter.parsed().model_copy(update=complete_content_updates()),
        letter.revision,
        hospital["users"]["medecin"],
    )

    def login(username: str) -> None:
        page.goto(f"{live_server.url}/connexion/")
        page.get_by_label("Identifiant").fill(username)
        page.get_by_label("Mot de passe").fill("secret-demo")
        page.get_by_role("button", name="Se connecter").click()

    login("u_medecin")
    expect(page.get_by_role("heading", name="Séjours de mes services")).to_be_visible()
    row = page.locator("#stays tr", has_text="DUPONT Marie")
    expect(row).to_contain_text("Brouillon")
    row.get_by_role("link").click()
    page.get_by_role("button", name="Signer la lettre").click()
    expect(page.get_by_role("status")).to_have_text("Lettre signée.")
    expect(page.locator("#letter-state")).to_have_text("Signée")

    page.get_by_role("button", name="Se déconnecter").click()
    login("u_infirmier")
    page.locator("#stays tr", has_text="DUPONT Marie").get_by_role("link").click()
    page.get_by_label("compréhension vérifiée").check()
    page.get_by_role("button", name="Enregistrer la remise au patient").click()
    expect(page.locator("#letter-state")).to_have_text("Remise au patient")
    stored = Letter.objects.get(pk=letter.pk)
    assert stored.handed_over_by.username == "u_infirmier" and stored.understanding_checked
