"""The clinician's screens through Django's test client: today's worklist, the guided letter form
(live QLS panel, autosave, conflicts), signature after preview, hand-over, check-list."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from liaison import signing
from liaison.letters import lifecycle
from liaison.letters.models import AuditEvent, Correspondent, Letter
from liaison.web.models import DischargeChecklist
from tests.conftest import complete_content_updates, valid_rpps

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def today(hospital):
    """The hospital's stay leaves today (an hour ago)."""
    stay = hospital["stay"]
    stay.discharge_at = timezone.now() - dt.timedelta(hours=1)
    stay.admission_at = stay.discharge_at - dt.timedelta(days=3)
    stay.save()
    return hospital


def complete_updates() -> dict:
    return {**complete_content_updates(), "resistant_organisms_screened": True}


def _login(client, hospital, role):
    client.force_login(hospital["users"][role])


def complete_form(**extra) -> dict:
    """What a physician types in the form for a complete letter."""
    data = {
        "reason": "Décompensation cardiaque",
        "medical_summary": "Insuffisance cardiaque décompensée, amélioration sous diurétiques.",
        "adverse_events.present": "non",
        "resistant_organisms.present": "non",
        "resistant_organisms_screened": "oui",
        "transfusion.present": "non",
        "blood_derivatives.present": "non",
        "implanted_devices.present": "non",
        "medications.0.medicine": "FUROSEMIDE ARROW 40 mg, comprimé sécable",
        "medications.0.status": "modifie",
        "medications.0.dosage": "1 cp le matin",
        "medications.0.duration": "au long cours",
        "medications.0.reason": "Posologie doublée : surcharge",
        "follow_up.0.kind": "rdv_pris",
        "follow_up.0.description": "Consultation de cardiologie",
        "recipients.0.role": "medecin_traitant",
        "recipients.0.name": "Dr Anne Généraliste",
        "recipients.0.mssante": "anne.generaliste@medecin.mssante.fr",
        "recipients.0.channel": "mssante",
    }
    data.update(extra)
    return data


def test_login_page_and_redirect(client, today):
    resp = client.get("/")
    assert resp.status_code == 302 and "/connexion/" in resp["Location"]
    resp = client.post("/connexion/", {"username": "u_medecin", "password": "x"})
    assert resp.status_code == 302
    page = client.get("/").content.decode()
    assert "Sorties du jour" in page and "DUPONT" in page


def test_worklist_shows_state_missing_and_who_acts(client, today):
    _login(client, today, "secretaire")
    page = client.get("/").content.decode()
    assert "DUPONT Marie" in page and "Aucune lettre" in page and "ouvrir et rédiger" in page
    assert AuditEvent.objects.filter(action="list", username="u_secretaire").exists()
    letter = lifecycle.open_letter(today["stay"])
    page = client.get("/").content.decode()
    assert "Brouillon" in page and "Motif de l&#x27;hospitalisation absent" in page
    lifecycle.save_draft(
        letter.pk,
        letter.parsed().model_copy(update=complete_updates()),
        letter.revision,
        today["users"]["medecin"],
    )
    page = client.get("/").content.decode()
    assert "Prête à signer" in page and "Médecin : vérifier et signer" in page
    signing.sign(letter.pk, today["users"]["medecin"])
    page = client.get("/").content.decode()
    assert "Signée" in page and "remettre la lettre au patient" in page and "Imprimer (PDF)" in page


def test_french_whatever_the_browsers_language(client, today):
    """A ward computer whose browser asks for English still gets the French screens and dates."""
    _login(client, today, "medecin")
    page = client.get("/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    months = [
        "janvier", "février", "mars", "avril", "mai", "juin",
        "juillet", "août", "septembre", "octobre", "novembre", "décembre",
    ]  # fmt: skip
    day = timezone.localdate()
    assert f"{day.day} {months[day.month - 1]} {day.year}" in page
    assert '<html lang="fr' in page


def test_worklist_filters_and_htmx_fragment(client, today):
    _login(client, today, "medecin")
    physician = today["users"]["medecin"].practitioner
    assert "DUPONT" in client.get(f"/?medecin={physician.pk}").content.decode()
    assert "DUPONT" not in client.get(f"/?medecin={physician.pk + 999}").content.decode()
    assert "DUPONT" not in client.get(f"/?service={today['mater'].pk}").content.decode()
    frag = client.get("/", HTTP_HX_TARGET="worklist", **HTMX).content.decode()
    assert frag.startswith('<div id="worklist"') and "<html" not in frag and "DUPONT" in frag


def test_worklist_keeps_yesterdays_unfinished_only(client, today):
    stay = today["stay"]
    stay.discharge_at = timezone.now() - dt.timedelta(days=1)
    stay.save()
    _login(client, today, "medecin")
    page = client.get("/").content.decode()
    assert "DUPONT" in page and "en retard" in page
    stay.discharge_at = timezone.now() - dt.timedelta(days=3)
    stay.save()
    assert "DUPONT" not in client.get("/").content.decode()
    assert "DUPONT" in client.get("/sejours/").content.decode()  # the longer list


def test_quality_role_sees_no_patient(client, today):
    _login(client, today, "qualite")
    page = client.get("/").content.decode()
    assert "DUPONT" not in page and "ne donne pas accès aux dossiers" in page
    letter = lifecycle.open_letter(today["stay"])
    assert client.get(f"/lettres/{letter.pk}/").status_code == 403


def test_a_plain_get_creates_no_draft(client, today):
    """Opening a letter is a POST (the worklist's button); a GET (link, prefetch, crawler) only
    shows the stay and the button, and creates nothing."""
    url = f"/sejours/{today['stay'].pk}/lettre/"
    _login(client, today, "medecin")
    page = client.get(url)
    assert page.status_code == 200 and not Letter.objects.filter(stay=today["stay"]).exists()
    html = page.content.decode()
    assert f'<form method="post" action="{url}"' in html and "Ouvrir la lettre" in html and "DUPONT" in html
    assert AuditEvent.objects.filter(action="read", object_type="stay", username="u_medecin").exists()
    created = client.post(url)
    letter = Letter.objects.get(stay=today["stay"])
    assert created.status_code == 302 and created["Location"] == f"/lettres/{letter.pk}/"
    assert client.get(url)["Location"] == f"/lettres/{letter.pk}/"  # an existing letter: straight to it
    assert client.post(url)["Location"] == f"/lettres/{letter.pk}/" and Letter.objects.count() == 1
    _login(client, today, "infirmier")  # may not draft: told so, nothing created
    Letter.objects.all().delete()
    assert client.post(url).status_code == 302 and not Letter.objects.exists()
    assert client.get(url).status_code == 302 and not Letter.objects.exists()


def test_letter_form_in_decree_order_with_gam_fields_read_only(client, today):
    _login(client, today, "medecin")
    resp = client.post(f"/sejours/{today['stay'].pk}/lettre/")
    letter = Letter.objects.get(stay=today["stay"])
    page = client.get(resp["Location"]).content.decode()
    order = [
        page.index(h)
        for h in (
            "1° Identifications",
            "2° Motif",
            "3° Synthèse",
            "4° Traitements",
            "5° Résultats",
            "6° Suites",
        )
    ]
    assert order == sorted(order)
    assert 'name="patient' not in page and 'name="discharge_at"' not in page  # identities not editable
    assert 'name="reason"' in page and 'id="f-adverse_events-oui"' in page
    assert "Contrôle QLS" in page and "Dossier non conforme" in page
    assert "Traitement médicamenteux de sortie" in page
    assert 'href="#f-reason"' in page  # each missing item links to its field
    assert AuditEvent.objects.filter(action="read", object_id=str(letter.pk)).exists()


def test_live_check_grades_the_typed_form_without_saving(client, today):
    letter = lifecycle.open_letter(today["stay"])
    _login(client, today, "medecin")
    frag = client.post(f"/lettres/{letter.pk}/controle/", {"reason": "Chute"}).content.decode()
    assert "<html" not in frag and "Dossier non conforme" in frag
    assert "Motif de l&#x27;hospitalisation" in frag and 'href="#f-reason"' not in frag
    # a blank row on screen before the incomplete one: the link names the row as displayed
    data = complete_form(
        **{
            "medications.1.medicine": "",
            "medications.2.medicine": "ASPIRINE",
            "medications.2.status": "nouveau",
        }
    )
    frag = client.post(f"/lettres/{letter.pk}/controle/", data).content.decode()
    assert 'href="#f-medications-2-dosage"' in frag
    frag = client.post(f"/lettres/{letter.pk}/controle/", complete_form()).content.decode()
    assert "Dossier conforme" in frag and "Aucun blocage de signature" in frag
    assert Letter.objects.get(pk=letter.pk).revision == letter.revision  # nothing saved


def test_autosave_saves_and_keeps_gam_fields(client, today):
    letter = lifecycle.open_letter(today["stay"])
    _login(client, today, "medecin")
    data = complete_form(revision=letter.revision, **{"patient.birth_family_name": "PIRATE"})
    resp = client.post(f"/lettres/{letter.pk}/brouillon/", data, **HTMX)
    frag = resp.content.decode()
    assert resp.status_code == 200 and "Brouillon enregistré" in frag
    saved = Letter.objects.get(pk=letter.pk)
    assert saved.revision == letter.revision + 1 and f'value="{saved.revision}" hx-swap-oob="true"' in frag
    content = saved.parsed()
    assert content.patient.birth_family_name == "DUPONT" and content.reason == "Décompensation cardiaque"
    assert content.medications[0].cis == "60192594" and content.medications[0].atc == "C03CA01"


def test_conflicting_edit_is_shown_never_overwritten(client, today):
    letter = lifecycle.open_letter(today["stay"])
    other = today["users"]["interne"]
    lifecycle.save_draft(
        letter.pk, letter.parsed().model_copy(update={"reason": "Texte de l'interne"}), letter.revision, other
    )
    _login(client, today, "medecin")
    data = complete_form(revision=letter.revision)  # loaded before the interne saved
    frag = client.post(f"/lettres/{letter.pk}/brouillon/", data, **HTMX).content.decode()
    assert (
        "Modification concurrente" in frag
        and "u_interne" in frag
        and "Motif de l&#x27;hospitalisation" in frag
    )
    assert "hx-trigger" not in frag  # autosave stops
    assert Letter.objects.get(pk=letter.pk).parsed().reason == "Texte de l'interne"
    # without JavaScript: the page comes back with the user's text and the warning
    resp = client.post(f"/lettres/{letter.pk}/brouillon/", data)
    assert resp.status_code == 409 and "Décompensation cardiaque" in resp.content.decode()
    # an explicit choice replaces it
    current = Letter.objects.get(pk=letter.pk).revision
    client.post(f"/lettres/{letter.pk}/brouillon/", {**data, "overwrite_revision": current}, **HTMX)
    assert Letter.objects.get(pk=letter.pk).parsed().reason == "Décompensation cardiaque"


def test_sign_shows_preview_first_then_signs(client, today):
    letter = lifecycle.open_letter(today["stay"])
    _login(client, today, "medecin")
    page = client.get(f"/lettres/{letter.pk}/signer/").content.decode()
    assert "Aperçu, non signé" in page and "ne peut pas encore être signée" in page
    resp = client.post(f"/lettres/{letter.pk}/signer/", follow=True)
    assert "ne peut pas être signée" in resp.content.decode()
    client.post(f"/lettres/{letter.pk}/brouillon/", complete_form(revision=letter.revision))
    page = client.get(f"/lettres/{letter.pk}/signer/").content.decode()
    assert f'src="/lettres/{letter.pk}/apercu.pdf"' in page and "Signer la lettre" in page
    pdf = client.get(f"/lettres/{letter.pk}/apercu.pdf")
    assert (
        pdf.status_code == 200
        and pdf.content.startswith(b"%PDF")
        and "apercu-non-signe" in pdf["Content-Disposition"]
    )
    assert Letter.objects.get(pk=letter.pk).status == Letter.Status.DRAFT  # a preview stores nothing
    resp = client.post(f"/lettres/{letter.pk}/signer/", follow=True)
    page = resp.content.decode()
    assert (
        "Lettre signée." in page
        and "Lettre PDF (patient)" in page
        and 'id="delivery-label">Envoi en cours · Reçue par 0 destinataire sur 2<' in page
    )
    assert 'name="reason"' not in page  # frozen


def test_invalid_address_is_refused_with_the_field_named_and_the_value_kept(client, today):
    letter = lifecycle.open_letter(today["stay"])
    _login(client, today, "medecin")
    client.post(f"/lettres/{letter.pk}/brouillon/", complete_form(revision=letter.revision))
    saved = Letter.objects.get(pk=letter.pk)
    typo = complete_form(revision=saved.revision, **{"recipients.0.mssante": "dr.dupont@gmail"})
    typo["reason"] = "Décompensation cardiaque droite"
    resp = client.post(f"/lettres/{letter.pk}/brouillon/", typo)
    page = resp.content.decode()
    assert resp.status_code == 422
    assert "Destinataire 1, adresse MSSanté" in page and 'value="dr.dupont@gmail"' in page
    assert "Décompensation cardiaque droite" in page  # the rest of the typing is shown back too
    after = Letter.objects.get(pk=letter.pk)
    assert after.revision == saved.revision  # nothing stored, nothing emptied
    assert after.parsed().recipients[0].mssante == "anne.generaliste@medecin.mssante.fr"
    frag = client.post(f"/lettres/{letter.pk}/brouillon/", typo, **HTMX).content.decode()
    assert "Brouillon non enregistré" in frag and "dr.dupont@gmail" in frag and "hx-trigger" in frag
    bad_rpps = complete_form(revision=saved.revision, **{"recipients.0.rpps": "12345678901"})
    frag = client.post(f"/lettres/{letter.pk}/brouillon/", bad_rpps, **HTMX).content.decode()
    assert "Destinataire 1, RPPS" in frag and "clé du numéro RPPS" in frag


def test_the_physician_names_the_gp_the_gam_lacks(client, today):
    patient = today["patient"]
    patient.medecin_traitant = None  # the GAM knows none
    patient.save()
    letter = lifecycle.open_letter(today["stay"])
    _login(client, today, "medecin")
    page = client.get(f"/lettres/{letter.pk}/").content.decode()
    assert "Aucun médecin traitant connu du GAM" in page and "qualité « Médecin traitant »" in page
    rpps = valid_rpps(777)
    wrong = rpps[:-1] + str((int(rpps[-1]) + 1) % 10)
    gp = {
        "recipients.0.name": "Dr Jean Durand",
        "recipients.0.rpps": wrong,
        "recipients.0.mssante": "jean.durand@medecin.mssante.fr",
    }
    resp = client.post(f"/lettres/{letter.pk}/brouillon/", complete_form(revision=letter.revision, **gp))
    page = resp.content.decode()
    assert resp.status_code == 422
    assert "Destinataire 1, RPPS" in page and "contrôle de Luhn" in page and f'value="{wrong}"' in page
    assert Letter.objects.get(pk=letter.pk).parsed().medecin_traitant is None  # nothing saved
    check = client.post(
        f"/lettres/{letter.pk}/controle/", complete_form(revision=letter.revision, **gp)
    ).content.decode()
    assert "contrôle de Luhn" in check
    gp["recipients.0.rpps"] = rpps
    resp = client.post(f"/lettres/{letter.pk}/brouillon/", complete_form(revision=letter.revision, **gp))
    assert resp.status_code == 302
    mt = Letter.objects.get(pk=letter.pk).parsed().medecin_traitant
    assert (mt.display_name, mt.rpps, mt.source) == ("Dr Jean Durand", rpps, "medecin")
    page = client.get(f"/lettres/{letter.pk}/").content.decode()
    assert 'id="mt-name">Dr Jean Durand<' in page
    assert "désigné par le médecin (le GAM n&#x27;en connaît pas)" in page
    assert "Médecin traitant non renseigné" not in page
    page = client.get(f"/lettres/{letter.pk}/signer/").content.decode()
    assert "Dr Jean Durand (Médecin traitant, désigné par le médecin)" in page
    assert "jean.durand@medecin.mssante.fr" in page and 'id="sign-mt"' in page
    assert "Signer la lettre" in page


def test_sign_page_shows_the_delivery_plan_and_its_blockers(client, today):
    letter = lifecycle.open_letter(today["stay"])
    _login(client, today, "medecin")
    data = complete_form(
        revision=letter.revision,
        **{
            "recipients.1.role": "adresseur",
            "recipients.1.name": "Dr Sans Adresse",
            "recipients.1.channel": "mssante",
            "recipients.2.role": "autre",
            "recipients.2.name": "Kiné Papier",
            "recipients.2.channel": "courrier",
        },
    )
    client.post(f"/lettres/{letter.pk}/brouillon/", data)
    page = client.get(f"/lettres/{letter.pk}/signer/").content.decode()
    assert 'id="delivery-plan"' in page and "Signer la lettre" not in page
    assert "Dr Sans Adresse (Praticien adresseur) : aucune adresse MSSanté" in page
    assert "Courrier à imprimer" in page and "anne.generaliste@medecin.mssante.fr" in page
    # the form's panel shows the same blocker, and signing refuses it
    form_page = client.get(f"/lettres/{letter.pk}/").content.decode()
    assert "Signature impossible : 1 blocage" in form_page and "Vous pouvez signer" not in form_page
    resp = client.post(f"/lettres/{letter.pk}/signer/", follow=True)
    assert "Dr Sans Adresse (Praticien adresseur) : aucune adresse MSSanté" in resp.content.decode()
    assert Letter.objects.get(pk=letter.pk).status == Letter.Status.DRAFT
    # the explicit choice of the post instead
    saved = Letter.objects.get(pk=letter.pk)
    client.post(
        f"/lettres/{letter.pk}/brouillon/",
        {**data, "revision": saved.revision, "recipients.1.channel": "courrier"},
    )
    page = client.get(f"/lettres/{letter.pk}/signer/").content.decode()
    assert "Signer la lettre" in page
    page = client.post(f"/lettres/{letter.pk}/signer/", follow=True).content.decode()
    # DMP and the GP by electronic means, two by post: never « tous »
    assert (
        "Reçue par 0 destinataire sur 4" in page and "tous" not in page.split('id="delivery-label"')[1][:80]
    )


def test_masking_rules_block_signature(client, today):
    letter = lifecycle.open_letter(today["stay"])
    _login(client, today, "medecin")
    data = complete_form(revision=letter.revision, **{"confidentiality.masked_from_professionals": "on"})
    client.post(f"/lettres/{letter.pk}/brouillon/", data)
    page = client.get(f"/lettres/{letter.pk}/").content.decode()
    assert 'aria-invalid="true" aria-describedby="e-f-confidentiality-masked_from_professionals"' in page
    resp = client.post(f"/lettres/{letter.pk}/signer/", follow=True)
    assert "masqué aux professionnels" in resp.content.decode()
    assert Letter.objects.get(pk=letter.pk).status == Letter.Status.DRAFT


def test_interne_cannot_sign_from_the_page(client, today):
    letter = lifecycle.open_letter(today["stay"])
    _login(client, today, "interne")
    assert "Vérifier et signer" not in client.get(f"/lettres/{letter.pk}/").content.decode()
    resp = client.post(f"/lettres/{letter.pk}/signer/", follow=True)
    assert "Seul un médecin de l&#x27;établissement peut signer" in resp.content.decode()
    assert Letter.objects.get(pk=letter.pk).status == Letter.Status.DRAFT


def _signed(today) -> Letter:
    letter = lifecycle.open_letter(today["stay"])
    lifecycle.save_draft(
        letter.pk,
        letter.parsed().model_copy(update=complete_updates()),
        letter.revision,
        today["users"]["medecin"],
    )
    return signing.sign(letter.pk, today["users"]["medecin"], at=today["stay"].discharge_at)


def test_hand_over_in_one_click_from_the_worklist(client, today):
    letter = _signed(today)
    _login(client, today, "secretaire")
    resp = client.post(f"/lettres/{letter.pk}/remise/", {"next": "/?service="}, follow=True)
    assert (
        resp.redirect_chain[-1][0] == "/?service="
        and "Remise au patient enregistrée." in resp.content.decode()
    )
    letter.refresh_from_db()
    assert letter.handed_over_by.username == "u_secretaire" and letter.handed_over_to == "patient"


def test_hand_over_with_time_and_late_flag(client, today):
    letter = _signed(today)
    stay = today["stay"]
    stay.discharge_at -= dt.timedelta(days=1)
    stay.admission_at -= dt.timedelta(days=1)
    stay.save()
    Letter.objects.filter(pk=letter.pk).update(signed_at=stay.discharge_at)
    _login(client, today, "infirmier")
    at = timezone.localtime(timezone.now() - dt.timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M")
    resp = client.post(
        f"/lettres/{letter.pk}/remise/",
        {"at": at, "understanding_checked": "on", "to": "proche"},
        follow=True,
    )
    page = resp.content.decode()
    assert "Remise au patient enregistrée." in page and "remise tardive (J+1)" in page
    letter.refresh_from_db()
    assert letter.understanding_checked and letter.handed_over_to == "proche"
    assert timezone.localtime(letter.handed_over_at).strftime("%Y-%m-%dT%H:%M") == at
    resp = client.post(f"/lettres/{letter.pk}/remise/", {}, follow=True)
    assert "déjà enregistrée" in resp.content.decode()


def test_correction_opens_a_new_version(client, today):
    letter = _signed(today)
    _login(client, today, "medecin")
    resp = client.post(f"/lettres/{letter.pk}/correction/", {"why": "Erreur de posologie"}, follow=True)
    page = resp.content.decode()
    assert "nouvelle version en brouillon" in page and "remplacera la version 1" in page
    new = Letter.objects.get(stay=today["stay"], version=2)
    assert new.status == Letter.Status.DRAFT and new.replaces_id == letter.pk


def test_discharge_checklist_saved_with_the_stay(client, today):
    letter = lifecycle.open_letter(today["stay"])
    _login(client, today, "infirmier")
    page = client.get(f"/lettres/{letter.pk}/").content.decode()
    assert (
        "Check-list de sortie HAS (15 points sur 18)" in page
        and 'id="cl-1-na"' not in page
        and 'id="cl-3-na"' in page
    )
    # HAS wording; no placeholder item: 13, 14 and 16 (wording not found) are left out and said so.
    assert "Une évaluation sociale a été réalisée afin de proposer au patient le mode de sortie." in page
    assert "non encore relu" not in page and "à confirmer" not in page and 'name="cl-13"' not in page
    assert "Items 13, 14, 16 non repris" in page
    assert 'name="reason"' not in page  # a nurse does not draft the letter
    frag = client.post(
        f"/sejours/{today['stay'].pk}/check-list/", {"cl-1": "na", "cl-2": "oui", "cl-12": "non"}, **HTMX
    ).content.decode()
    assert "Item 1" in frag and "2 réponses sur 15" in frag
    row = DischargeChecklist.objects.get(stay=today["stay"])
    assert row.answers == {"2": "oui", "12": "non"} and row.updated_by.username == "u_infirmier"
    assert AuditEvent.objects.filter(action="update", object_type="stay", why__contains="check-list").exists()
    _login(client, today, "qualite")
    assert client.post(f"/sejours/{today['stay'].pk}/check-list/", {"cl-2": "oui"}).status_code == 403


def test_medicine_autocomplete(client, today):
    _login(client, today, "medecin")
    html = client.get("/medicaments/", {"medications.0.medicine": "furosemide arr"}).content.decode()
    assert '<option value="FUROSEMIDE ARROW 40 mg, comprimé sécable">' in html
    assert client.get("/medicaments/", {"q": "f"}).content.decode().strip() == ""


def test_recipient_directory(client, today):
    Correspondent.objects.create(kind=Correspondent.Kind.PERSON, family_name="Généreux", given_name="Paul")
    Correspondent.objects.create(kind=Correspondent.Kind.STRUCTURE, organisation="Générale", finess="")
    _login(client, today, "secretaire")
    html = client.get("/correspondants/", {"recipients.2.name": "anne génér"}).content.decode()
    assert 'value="Dr Anne Généraliste"' in html
    assert (
        'data-mssante="anne.generaliste@medecin.mssante.fr"' in html
        and f'data-rpps="{today["gp"].rpps}"' in html
    )
    # Neither an address nor an RPPS: nothing to send to; a structure is not a person.
    html = client.get("/correspondants/", {"q": "gén"}).content.decode()
    assert "Généreux" not in html and "Générale" not in html and html.count("<option") == 1
    assert client.get("/correspondants/", {"q": "g"}).content.decode().strip() == ""
    client.logout()
    assert client.get("/correspondants/", {"q": "gén"}).status_code == 302


def test_campaign_role_lands_on_the_campaign_side(client, hospital):
    client.force_login(hospital["users"]["campagne"])
    resp = client.get("/")
    assert resp.status_code == 302 and resp["Location"].startswith("/campagne/")
    page = client.get(resp["Location"]).content.decode()
    assert "Sorties du jour" not in page and "Campagne" in page


def test_delivery_status_counts_who_has_received(client, today):
    from liaison.delivery import outbox
    from liaison.delivery.models import Delivery

    letter = lifecycle.open_letter(today["stay"])
    _login(client, today, "medecin")
    client.post(f"/lettres/{letter.pk}/brouillon/", complete_form(revision=letter.revision))
    client.post(f"/lettres/{letter.pk}/signer/")
    rows = list(Delivery.objects.filter(letter=letter).order_by("id"))
    assert [d.recipient_role for d in rows] == ["dmp", "medecin_traitant"]
    outbox.acknowledge(rows[0], Delivery.State.DELIVERED, "registre : succès")
    page = client.get(f"/lettres/{letter.pk}/").content.decode()
    assert "Reçue par 1 destinataire sur 2" in page and "Pas encore reçue : Dr Anne Généraliste" in page
    outbox.acknowledge(rows[1], Delivery.State.READ, "MDN")
    page = client.get(f"/lettres/{letter.pk}/").content.decode()
    assert "Reçue par les 2 destinataires" in page and "Pas encore reçue" not in page


def test_medicine_autocomplete_by_substance_and_a_line_in_dci(client, today):
    letter = lifecycle.open_letter(today["stay"])
    _login(client, today, "medecin")
    options = client.get("/medicaments/", {"q": "apixaban 5"}).content.decode()
    assert 'value="apixaban 5 mg, comprimé pelliculé">DCI, sans marque' in options
    assert 'value="ELIQUIS 5 mg, comprimé pelliculé"' in options
    options = client.get("/medicaments/", {"medications.0.medicine": "paracétamol"}).content.decode()
    assert 'value="PARACETAMOL' in options
    data = complete_form(
        revision=letter.revision, **{"medications.0.medicine": "apixaban 5 mg, comprimé pelliculé"}
    )
    client.post(f"/lettres/{letter.pk}/brouillon/", data)
    line = Letter.objects.get(pk=letter.pk).parsed().medications[0]
    assert (line.medicine, line.cis, line.substance_code, line.atc) == (
        "apixaban 5 mg, comprimé pelliculé",
        None,
        "61321",
        "B01AF02",
    )
    page = client.get(f"/lettres/{letter.pk}/").content.decode()
    assert "DCI · substance BDPM 61321" in page


def test_preview_of_an_incomplete_draft_shows_what_is_there_and_what_is_missing(client, today):
    """The letter taking shape: an almost empty draft previews with 200, watermarked, each missing
    element « à compléter », and without a CDA (none can be built yet)."""
    import io

    import pypdf

    from liaison.documents.pdf import PdfError, extract_cda

    letter = lifecycle.open_letter(today["stay"])
    _login(client, today, "medecin")
    client.post(
        f"/lettres/{letter.pk}/brouillon/",
        {"revision": letter.revision, "reason": "Douleur thoracique atypique"},
    )
    resp = client.get(f"/lettres/{letter.pk}/apercu.pdf")
    assert resp.status_code == 200 and resp.content.startswith(b"%PDF")
    text = " ".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(resp.content)).pages)
    text = " ".join(text.split())
    assert "APERÇU — NON SIGNÉ" in text
    assert "Douleur thoracique atypique" in text  # what is there
    assert "À compléter avant la signature" in text
    assert "Traitement de sortie : à compléter." in text and "Suites à donner : à compléter." in text
    assert text.count("à compléter") >= 4
    with pytest.raises(PdfError):
        extract_cda(resp.content)
    assert Letter.objects.get(pk=letter.pk).status == Letter.Status.DRAFT
