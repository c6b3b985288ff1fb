"""The planned discharge on the screens and in the API: form, refusals naming the field,
« sortie prévue » / « sortie enregistrée », « à corriger » on the worklist and the stays list,
and `planned_discharge` / `discharge_consistency` in the REST API, for every role."""

from __future__ import annotations

import datetime as dt
import html

import pytest
from django.utils import timezone

from liaison import signing
from liaison.core.content import ExitMode
from liaison.letters import lifecycle
from liaison.letters.models import PARIS, DischargeCheck, Letter
from liaison.letters.reconcile import reconcile
from tests.conftest import later_today
from tests.web.test_views import HTMX, complete_form, complete_updates

pytestmark = pytest.mark.django_db

ROLES = [
    "medecin",
    "interne",
    "sage_femme",
    "secretaire",
    "infirmier",
    "qualite",
    "admin_etablissement",
    "campagne",
]


def local(when: dt.datetime) -> str:
    return timezone.localtime(when, PARIS).strftime("%Y-%m-%dT%H:%M")


@pytest.fixture
def leaving(hospital):
    """The stay leaves later today: the GAM planned it (PV2-9), no A03 yet; unit usually « domicile »."""
    stay = hospital["stay"]
    now = timezone.now()
    stay.admission_at = now - dt.timedelta(days=2)
    stay.discharge_at = None
    stay.exit_mode = ""
    stay.planned_discharge_at = later_today(dt.timedelta(hours=2))
    stay.save()
    hospital["cardio"].usual_exit_mode = "domicile"
    hospital["cardio"].save()
    return hospital


def _draft(hospital) -> Letter:
    return lifecycle.open_letter(hospital["stay"], hospital["users"]["medecin"])


def test_form_proposes_the_usual_mode_without_filling_it(client, leaving):
    letter = _draft(leaving)
    c = letter.parsed()
    assert c.planned_discharge.exit_mode is None and not c.planned_discharge.confirmed
    client.force_login(leaving["users"]["medecin"])
    page = client.get(f"/lettres/{letter.pk}/").content.decode()
    assert "Sortie prévue" in page and "à confirmer" in page
    assert 'data-value="domicile"' in page and "Proposer « Retour au domicile »" in page
    assert 'name="planned_discharge.exit_mode"' in page
    assert f'value="{local(leaving["stay"].planned_discharge_at)}"' in page


def test_form_confirms_the_planned_discharge_and_signs_before_the_a03(client, leaving):
    letter = _draft(leaving)
    client.force_login(leaving["users"]["medecin"])
    planned = leaving["stay"].planned_discharge_at
    data = complete_form(
        revision=letter.revision,
        **{
            "planned_discharge.at": local(planned),
            "planned_discharge.exit_mode": "domicile",
            "planned_discharge.destination": "Domicile",
            "planned_discharge.confirmed": "on",
        },
    )
    resp = client.post(f"/lettres/{letter.pk}/brouillon/", data, **HTMX)
    assert "Brouillon enregistré" in resp.content.decode()
    c = Letter.objects.get(pk=letter.pk).parsed()
    assert c.planned_discharge.confirmed and c.exit_mode == "domicile" and c.discharge_at == planned
    signed = signing.sign(letter.pk, leaving["users"]["medecin"])
    assert signed.discharge_check == DischargeCheck.PLANNED
    page = client.get(f"/lettres/{signed.pk}/").content.decode()
    assert "Sortie prévue" in page and "pas encore reçue du GAM" in page
    worklist = client.get("/").content.decode()
    assert "sortie prévue" in worklist and "signée sur la sortie prévue" in worklist


@pytest.mark.parametrize(
    "shift, words",
    [(dt.timedelta(hours=-3), "est déjà passé"), (dt.timedelta(days=-5), "précède l'entrée")],
)
def test_form_refuses_a_planned_discharge_in_the_past_naming_the_field(client, leaving, shift, words):
    letter = _draft(leaving)
    client.force_login(leaving["users"]["medecin"])
    before = letter.parsed().planned_discharge
    typed = timezone.now() + shift
    data = complete_form(revision=letter.revision, **{"planned_discharge.at": local(typed)})
    frag = html.unescape(client.post(f"/lettres/{letter.pk}/brouillon/", data, **HTMX).content.decode())
    assert "Brouillon non enregistré" in frag and "Sortie prévue (date et heure) : " in frag
    assert words in frag
    saved = Letter.objects.get(pk=letter.pk)
    assert saved.parsed().planned_discharge == before and saved.revision == letter.revision  # nothing
    panel = html.unescape(client.post(f"/lettres/{letter.pk}/controle/", data, **HTMX).content.decode())
    assert words in panel and "f-planned_discharge-at" in panel


def test_api_put_refuses_a_past_planned_discharge(client, leaving):
    letter = _draft(leaving)
    client.force_login(leaving["users"]["medecin"])
    content = letter.parsed().model_dump(mode="json")
    content["planned_discharge"]["at"] = (timezone.now() - dt.timedelta(hours=5)).isoformat()
    resp = client.put(
        f"/api/letters/{letter.pk}",
        {"revision": letter.revision, "content": content},
        content_type="application/json",
    )
    assert resp.status_code == 422 and "Sortie prévue (date et heure)" in resp.json()["detail"]


def test_api_planned_discharge_signs_before_any_a03(client, leaving):
    client.force_login(leaving["users"]["medecin"])
    letter = client.post(f"/api/stays/{leaving['stay'].pk}/letter").json()
    planned = letter["content"]["planned_discharge"]
    assert set(planned) == {"at", "exit_mode", "destination", "confirmed"}
    assert planned["exit_mode"] is None and planned["confirmed"] is False
    lt = Letter.objects.get(pk=letter["id"])
    content = lt.parsed().model_copy(update=complete_updates()).model_dump(mode="json")
    refused = client.post(f"/api/letters/{lt.pk}/sign")
    assert refused.status_code == 422 and "Sortie prévue" in refused.json()["detail"]
    content["planned_discharge"].update(exit_mode="domicile", destination="Domicile", confirmed=True)
    saved = client.put(
        f"/api/letters/{lt.pk}",
        {"revision": lt.revision, "content": content},
        content_type="application/json",
    )
    assert saved.status_code == 200, saved.json()
    assert saved.json()["content"]["planned_discharge"]["exit_mode"] == "domicile"
    signed = client.post(f"/api/letters/{lt.pk}/sign")
    assert signed.status_code == 200 and signed.json()["status"] == "signed"
    (stay,) = client.get("/api/stays").json()
    assert stay["discharge_at"] is None and stay["discharge_consistency"] == "prevue"


def _flagged(leaving) -> Letter:
    """Signed on « domicile »; the GAM then records a transfer to SMR."""
    letter = _draft(leaving)
    c = letter.parsed()
    planned = c.planned_discharge.model_copy(update={"exit_mode": ExitMode.DOMICILE, "confirmed": True})
    c = c.model_copy(update={**complete_updates(), "planned_discharge": planned})
    letter = lifecycle.save_draft(letter.pk, c, letter.revision, leaving["users"]["medecin"])
    signed = signing.sign(letter.pk, leaving["users"]["medecin"])
    stay = leaving["stay"]
    stay.discharge_at, stay.exit_mode = timezone.now(), "smr"
    stay.save()
    reconcile(stay, "A03", lambda e: e.save(), "test")
    signed.refresh_from_db()
    return signed


def test_worklist_stays_list_and_letter_page_say_a_corriger(client, leaving):
    signed = _flagged(leaving)
    client.force_login(leaving["users"]["medecin"])
    worklist = client.get("/").content.decode()
    assert "Lettre à corriger : la sortie enregistrée diffère" in worklist
    assert "sortie enregistrée « Soins médicaux et de réadaptation (SMR) »" in worklist
    assert "sortie enregistrée" in worklist
    stays = client.get("/sejours/").content.decode()
    assert "à corriger" in stays
    page = client.get(f"/lettres/{signed.pk}/").content.decode()
    assert "Lettre à corriger : la sortie enregistrée diffère" in page and "Sortie enregistrée" in page


@pytest.mark.parametrize("role", ROLES)
def test_stays_api_consistency_for_every_role(client, leaving, role):
    _flagged(leaving)
    client.force_login(leaving["users"][role])
    stays = client.get("/api/stays").json()
    if role in ("medecin", "interne", "sage_femme", "secretaire", "infirmier"):
        (stay,) = stays
        assert stay["discharge_consistency"] == "a_corriger" and stay["letter_state"] == "À corriger"
        assert stay["discharge_differences"][0].startswith(
            "Modalité de sortie : lettre « Retour au domicile »"
        )
    else:  # quality (outside an audit sample), administrator, campaign: no patient
        assert stays == []


def test_stays_api_refuses_anonymous(client, leaving):
    assert client.get("/api/stays").status_code == 401
