"""The campaign side in a real browser (Debian Chromium, Playwright): import → target → profile."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User
from playwright.sync_api import expect

from tests.web.test_browser import page, server_url  # noqa: F401  (fixtures)

pytestmark = pytest.mark.slow


def test_import_target_profile_in_the_browser(settings, server_url, page, esatis_files):  # noqa: F811
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
    user = User.objects.create_user("campagne.ars", password="secret-demo")
    user.groups.add(Group.objects.get_or_create(name="campagne")[0])

    page.goto(f"{server_url}/connexion/")
    page.get_by_label("Identifiant").fill("campagne.ars")
    page.get_by_label("Mot de passe").fill("secret-demo")
    page.get_by_role("button", name="Se connecter").click()
    page.goto(f"{server_url}/campagne/")
    page.get_by_role("button", name="Importer les fichiers HAS de ce poste").click()
    expect(page.get_by_role("status")).to_contain_text("1268 établissements")
    expect(page.locator("#batches")).to_contain_text("esatis_ssr_from_iqss_recueil2024.xlsx")

    page.get_by_role("link", name="Ciblage", exact=True).click()
    page.get_by_label("Satisfaction globale des patients en SMR (score ajusté)").check()
    page.get_by_label("Mesure de référence").select_option("2023")
    page.get_by_label("Région").select_option("Bretagne")
    page.get_by_role("button", name="Calculer le classement").click()
    expect(page.locator("#ranking tbody tr").first).to_contain_text("Sous la moyenne nationale pondérée")
    page.get_by_label("Nom de la campagne").fill("Bretagne SMR 2023")
    page.get_by_role("button", name="Enregistrer la campagne").click()
    expect(page.get_by_role("heading", name="Bretagne SMR 2023")).to_be_visible()

    first = page.locator("#targets tbody tr").first
    name = first.locator("td").nth(2).get_by_role("link").inner_text()
    first.locator("td").nth(2).get_by_role("link").click()
    expect(page.get_by_role("heading", name=name)).to_be_visible()
    expect(page.locator("#peers")).to_contain_text(name)
    with page.expect_response(lambda r: r.url.endswith("profil.pdf")) as pdf:
        page.evaluate("url => fetch(url)", page.get_by_role("link", name="Profil PDF").get_attribute("href"))
    assert pdf.value.status == 200 and pdf.value.body().startswith(b"%PDF")
