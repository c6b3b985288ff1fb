"""The demo in a real browser (Debian Chromium driven by Playwright): a physician logs in,
finds a patient, signs the letter; a nurse records the hand-over."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from django.conf import settings
from django.db import connections
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
        # ORM calls made while Playwright's loop runs get their own connection: close it here.
        connections.close_all()


@pytest.fixture
def server_url(transactional_db):
    """`liaison runserver` in its own process, on the test database (what a user really runs)."""
    db = settings.DATABASES["default"]
    url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "liaison.cli", "runserver", "--noreload", f"127.0.0.1:{port}"],
        env={**os.environ, "DATABASE_URL": url},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{base}/connexion/", timeout=2)
            break
        except OSError:
            assert proc.poll() is None and time.monotonic() < deadline, "runserver did not start"
            time.sleep(0.2)
    yield base
    proc.terminate()
    proc.wait(timeout=10)


def test_sign_then_hand_over_in_the_browser(hospital, settings, server_url, page):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]  # the server's default
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
        page.goto(f"{server_url}/connexion/")
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
