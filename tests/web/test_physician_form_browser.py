"""The physician's form in a real browser (Chromium, Playwright) against `liaison runserver`.

1. The médecin traitant the GAM lacks: the physician adds a recipient « Médecin traitant »; an
   RPPS with a wrong key is refused with the reason and kept on screen; with the right one, the
   QLS criterion is met, the sign page says he comes from the physician, and the signature
   queues his MSSanté mail.

Screenshots of the new screens at 390, 1024 and 1400 px go to `screens_dir` (a temp dir, or
`LIAISON_NEW_SCREENS`) for a person to look at.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from liaison.delivery.models import Delivery
from liaison.letters import lifecycle
from liaison.letters.models import Letter
from tests.conftest import complete_content_updates, valid_rpps
from tests.web.test_browser import login, page, server_url  # noqa: F401 (fixtures)

pytestmark = pytest.mark.slow

WIDTHS = (390, 1024, 1400)
GP_RPPS = valid_rpps(777)


@pytest.fixture
def screens_dir(tmp_path) -> Path:
    out = Path(os.environ.get("LIAISON_NEW_SCREENS") or tmp_path / "ecrans")
    out.mkdir(parents=True, exist_ok=True)
    return out


def shoot(pg: Page, out: Path, name: str, *parts: str) -> None:
    """The page at the three widths (full page, or only the `parts` named by CSS selectors),
    then back to the desktop width."""
    for width in WIDTHS:
        pg.set_viewport_size({"width": width, "height": 900})
        if not parts:
            pg.screenshot(path=str(out / f"{name}-{width}.png"), full_page=True)
        for i, selector in enumerate(parts):
            pg.locator(selector).screenshot(path=str(out / f"{name}-{i + 1}-{width}.png"))
    pg.set_viewport_size({"width": 1400, "height": 1000})


@pytest.fixture
def ward(hospital, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]  # the server's
    for user in hospital["users"].values():
        user.set_password("secret-demo")
        user.save()
    stay = hospital["stay"]
    stay.discharge_at = timezone.now() - dt.timedelta(hours=1)
    stay.admission_at = stay.discharge_at - dt.timedelta(days=3)
    stay.save()
    return hospital


def drafted(hospital) -> Letter:
    """The letter as the team wrote it during the stay (everything but the médecin traitant)."""
    letter = lifecycle.open_letter(hospital["stay"])
    content = letter.parsed().model_copy(
        update={**complete_content_updates(), "resistant_organisms_screened": True}
    )
    return lifecycle.save_draft(letter.pk, content, letter.revision, hospital["users"]["medecin"])


def test_the_gp_named_by_the_physician_meets_the_check_and_is_mailed(
    ward,
    server_url,  # noqa: F811
    page,  # noqa: F811
    screens_dir,
):
    patient = ward["patient"]
    patient.medecin_traitant = None  # the GAM knows none
    patient.save()
    letter = drafted(ward)
    login(page, server_url, "u_medecin")
    page.goto(f"{server_url}/lettres/{letter.pk}/")
    expect(page.locator("#f-medecin_traitant")).to_contain_text("Aucun médecin traitant connu du GAM")
    panel = page.locator("#qls-panel")
    criterion = panel.locator("li", has_text="Identification du médecin traitant")
    expect(criterion).to_have_class("not_met")

    page.get_by_role("button", name="Ajouter un destinataire").click()
    row = page.locator('fieldset.row[data-row="recipients"]').last
    row.get_by_label("Qualité").select_option("medecin_traitant")
    row.get_by_label("Nom").fill("Dr Jean Durand")
    wrong = GP_RPPS[:-1] + str((int(GP_RPPS[-1]) + 1) % 10)
    row.get_by_label("RPPS").fill(wrong)
    row.get_by_label("Adresse MSSanté").fill("jean.durand@medecin.mssante.fr")
    autosave = page.locator("#autosave")
    expect(autosave).to_contain_text("Brouillon non enregistré", timeout=20_000)
    expect(autosave).to_contain_text("contrôle de Luhn")
    expect(row.get_by_label("RPPS")).to_have_value(wrong)  # kept as typed
    assert Letter.objects.get(pk=letter.pk).parsed().medecin_traitant is None

    row.get_by_label("RPPS").fill(GP_RPPS)
    expect(autosave).to_contain_text("Brouillon enregistré", timeout=20_000)
    expect(criterion).to_have_class("met")
    mt = Letter.objects.get(pk=letter.pk).parsed().medecin_traitant
    assert (mt.display_name, mt.rpps, mt.source) == ("Dr Jean Durand", GP_RPPS, "medecin")

    page.reload()
    expect(page.locator("#mt-source")).to_have_text("désigné par le médecin (le GAM n'en connaît pas)")
    shoot(page, screens_dir, "medecin-traitant-designe", "#s-identites", "#f-recipients")
    page.get_by_role("link", name="Vérifier et signer").click()
    expect(page.locator("#sign-mt")).to_contain_text("Dr Jean Durand")
    expect(page.locator("#sign-mt")).to_contain_text("désigné par le médecin")
    plan = page.locator("#delivery-plan")
    expect(plan).to_contain_text("Dr Jean Durand (Médecin traitant, désigné par le médecin)")
    expect(plan).to_contain_text("jean.durand@medecin.mssante.fr")
    shoot(page, screens_dir, "signer-medecin-traitant-designe")
    page.get_by_role("button", name="Signer la lettre").click()
    expect(page.get_by_role("status").first).to_have_text("Lettre signée.")
    gp = Delivery.objects.get(letter_id=letter.pk, recipient_role="medecin_traitant")
    assert (gp.channel, gp.recipient_address, gp.recipient_rpps) == (
        Delivery.Channel.MSSANTE,
        "jean.durand@medecin.mssante.fr",
        GP_RPPS,
    )
