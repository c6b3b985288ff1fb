"""Pro Santé Connect in a real browser (Chromium driven by Playwright): the login page's PSC
button, the provider's login page (a real OpenID Connect provider on loopback), back in Liaison
logged in, on the worklist. The server is `liaison runserver` configured by the environment, as a
hospital would configure it (LIAISON_PSC_CLIENT_ID, _SECRET, _DISCOVERY_URL)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.web import psc_provider
from tests.web.test_browser import axe_violations, free_port, liaison_server, page  # noqa: F401  (fixture)

pytestmark = pytest.mark.slow


@pytest.fixture
def psc_server(transactional_db, hospital, tmp_path):
    """The provider, then Liaison's server pointed at it (each knows the other's address)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with psc_provider.start(tmp_path, callbacks=(f"{base}/connexion/psc/retour/",)) as issuer:
        conf = psc_provider.settings_for(issuer)
        env = {
            "LIAISON_PSC_CLIENT_ID": conf["CLIENT_ID"],
            "LIAISON_PSC_CLIENT_SECRET": conf["CLIENT_SECRET"],
            "LIAISON_PSC_DISCOVERY_URL": conf["DISCOVERY_URL"],
        }
        with liaison_server(port, env):
            yield base, issuer


def test_the_psc_button_leads_to_the_provider_and_back_logged_in(psc_server, page):  # noqa: F811
    base, issuer = psc_server
    page.goto(f"{base}/connexion/")
    assert axe_violations(page) == []  # the login page with its PSC button
    page.get_by_role("link", name="Se connecter avec Pro Santé Connect").click()
    expect(page.get_by_role("heading", name="Pro Santé Connect — fournisseur de test")).to_be_visible()
    assert page.url.startswith(issuer)
    page.get_by_label("Identifiant e-CPS").fill("medecin")
    page.get_by_role("button", name="S'authentifier").click()
    expect(page.get_by_role("heading", name="Sorties du jour")).to_be_visible()
    assert page.url == f"{base}/"
    expect(page.locator("body")).to_contain_text("Rôle : Médecin")


def test_an_unknown_professional_sees_why_in_french_and_is_not_logged_in(psc_server, page):  # noqa: F811
    base, _ = psc_server
    page.goto(f"{base}/connexion/")
    page.get_by_role("link", name="Se connecter avec Pro Santé Connect").click()
    page.get_by_label("Identifiant e-CPS").fill("inconnu")
    page.get_by_role("button", name="S'authentifier").click()
    expect(page.get_by_role("heading", name="Connexion refusée")).to_be_visible()
    expect(page.locator("#psc-refusal")).to_contain_text("Aucun compte Liaison n'est rattaché au RPPS")
    page.goto(f"{base}/")
    expect(page.get_by_role("heading", name="Connexion")).to_be_visible()
