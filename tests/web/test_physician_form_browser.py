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
import shutil
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from liaison.delivery.models import Delivery
from liaison.letters import lifecycle
from liaison.letters.models import Letter
from tests.conftest import complete_content_updates, valid_rpps
from tests.web.test_browser import SHOTS, login, page, server_url  # noqa: F401 (fixtures)

pytestmark = pytest.mark.slow

WIDTHS = (390, 1024, 1400)
# The README's views of these screens, regenerated with LIAISON_SCREENSHOTS=1.
README_SHOTS = {
    "senior-a-valider-1024": "9-a-valider",
    "signer-medecin-traitant-designe-1400": "10-medecin-traitant-designe",
}
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
            readme = README_SHOTS.get(f"{name}-{width}")
            if readme and os.environ.get("LIAISON_SCREENSHOTS"):
                shutil.copyfile(out / f"{name}-{width}.png", SHOTS / f"{readme}.png")
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
    # the plan fits the side column: nothing to scroll sideways, no column squeezed out of sight
    assert plan.evaluate("e => e.scrollWidth <= e.closest('section').clientWidth")
    shoot(page, screens_dir, "signer-medecin-traitant-designe")
    page.get_by_role("button", name="Signer la lettre").click()
    expect(page.get_by_role("status").first).to_have_text("Lettre signée.")
    gp = Delivery.objects.get(letter_id=letter.pk, recipient_role="medecin_traitant")
    assert (gp.channel, gp.recipient_address, gp.recipient_rpps) == (
        Delivery.Channel.MSSANTE,
        "jean.durand@medecin.mssante.fr",
        GP_RPPS,
    )


def test_an_interns_letter_goes_to_the_senior_and_comes_back_signed(
    ward,
    server_url,  # noqa: F811
    page,  # noqa: F811
    screens_dir,
):
    letter = lifecycle.open_letter(ward["stay"])
    content = letter.parsed().model_copy(
        update={**complete_content_updates(), "resistant_organisms_screened": True}
    )
    lifecycle.save_draft(letter.pk, content, letter.revision, ward["users"]["interne"])

    # the intern completes the letter and submits it to the unit's senior
    login(page, server_url, "u_interne")
    page.goto(f"{server_url}/lettres/{letter.pk}/")
    expect(page.get_by_role("link", name="Vérifier et signer")).to_have_count(0)  # he cannot sign
    page.get_by_label("Senior", exact=True).select_option(label="Test MEDECIN")
    page.get_by_label("Message au senior (facultatif)").fill("Conciliation faite avec la pharmacie")
    shoot(page, screens_dir, "interne-soumettre", "#s-actions")
    page.get_by_role("button", name="Soumettre pour validation").click()
    expect(page.get_by_role("status").first).to_have_text("Lettre soumise pour validation à Test MEDECIN.")
    expect(page.locator("#review-state")).to_contain_text("À valider")
    page.get_by_role("button", name="Se déconnecter").click()

    # « à valider » on the senior's worklist, who returns it with a comment
    login(page, server_url, "u_medecin")
    waiting = page.locator("#to-validate")
    expect(waiting).to_contain_text("DUPONT Marie")
    expect(waiting).to_contain_text("Soumise par u_interne")
    expect(page.locator("#stays tbody tr", has_text="DUPONT Marie")).to_contain_text("À valider")
    shoot(page, screens_dir, "senior-a-valider")
    waiting.get_by_role("link", name="DUPONT Marie").click()
    expect(page.locator("#review-state")).to_contain_text("soumise par u_interne (interne)")
    shoot(page, screens_dir, "senior-relire", "#s-actions")
    page.get_by_label("Ou renvoyer à l'interne, avec ce qui est à reprendre").fill(
        "Ajouter le rendez-vous de cardiologie à 1 mois."
    )
    page.get_by_role("button", name="Renvoyer à l'interne").click()
    expect(page.get_by_role("status").first).to_have_text(
        "Lettre renvoyée à l'interne avec votre commentaire."
    )
    page.get_by_role("button", name="Se déconnecter").click()

    # the intern sees the comment on his worklist and his letter, and submits again
    login(page, server_url, "u_interne")
    returned = page.locator("#returned")
    expect(returned).to_contain_text("Ajouter le rendez-vous de cardiologie à 1 mois.")
    shoot(page, screens_dir, "interne-renvoyee")
    returned.get_by_role("link", name="DUPONT Marie").click()
    expect(page.locator("#review-state")).to_contain_text("Ajouter le rendez-vous de cardiologie à 1 mois.")
    page.get_by_role("button", name="Soumettre pour validation").click()
    expect(page.locator("#review-state")).to_contain_text("À valider")
    page.get_by_role("button", name="Se déconnecter").click()

    # the senior signs: author and legal signer; the intern named as who prepared it
    login(page, server_url, "u_medecin")
    page.locator("#to-validate").get_by_role("link", name="DUPONT Marie").click()
    page.get_by_role("link", name="Vérifier et signer").click()
    expect(page.locator("#review-state")).to_contain_text("soumise par u_interne")
    page.get_by_role("button", name="Signer la lettre").click()
    expect(page.get_by_role("status").first).to_have_text("Lettre signée.")
    expect(page.locator("#review-state")).to_contain_text("Préparée par u_interne (interne)")
    signed = Letter.objects.get(pk=letter.pk)
    assert signed.status == Letter.Status.SIGNED and signed.signed_by == ward["users"]["medecin"].practitioner
    assert signed.parsed().prepared_by.family_name == "INTERNE"
    page.get_by_role("button", name="Se déconnecter").click()
    login(page, server_url, "u_interne")
    expect(page.locator("#stays tbody tr", has_text="DUPONT Marie")).to_contain_text("Signée")
    expect(page.locator("#returned")).to_have_count(0)
