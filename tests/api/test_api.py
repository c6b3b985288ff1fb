"""The REST API applies the same lifecycle rules, permissions and audit trail as the screens."""

from __future__ import annotations

import pytest

from liaison import signing
from liaison.letters.models import AuditEvent, Letter
from tests.conftest import complete_content_updates

pytestmark = pytest.mark.django_db


def _open(client, hospital) -> dict:
    resp = client.post(f"/api/stays/{hospital['stay'].pk}/letter")
    assert resp.status_code == 200
    return resp.json()


def test_requires_a_session(client, hospital):
    assert client.get("/api/stays").status_code == 401


def test_draft_edit_sign_hand_over(client, hospital):
    client.force_login(hospital["users"]["medecin"])
    assert [s["visit_number"] for s in client.get("/api/stays").json()] == ["V001"]
    letter = _open(client, hospital)
    assert letter["content"]["patient"]["birth_family_name"] == "DUPONT"
    assert any(p["field"] == "reason" for p in letter["problems"])
    content = {**letter["content"], "reason": "Décompensation cardiaque"}
    saved = client.put(
        f"/api/letters/{letter['id']}",
        {"revision": letter["revision"], "content": content},
        content_type="application/json",
    )
    assert saved.status_code == 200 and saved.json()["content"]["reason"] == "Décompensation cardiaque"
    stale = client.put(
        f"/api/letters/{letter['id']}",
        {"revision": letter["revision"], "content": content},
        content_type="application/json",
    )
    assert stale.status_code == 409 and "a été modifiée par" in stale.json()["detail"]
    refused = client.post(f"/api/letters/{letter['id']}/sign")
    assert refused.status_code == 422 and "Synthèse médicale du séjour absente" in refused.json()["detail"]

    lt = Letter.objects.get(pk=letter["id"])
    full = lt.parsed().model_copy(update=complete_content_updates()).model_dump(mode="json")
    client.put(
        f"/api/letters/{lt.pk}", {"revision": lt.revision, "content": full}, content_type="application/json"
    )
    signed = client.post(f"/api/letters/{lt.pk}/sign")
    assert signed.status_code == 200 and signed.json()["status"] == "signed"
    again = client.put(
        f"/api/letters/{lt.pk}",
        {"revision": signed.json()["revision"], "content": full},
        content_type="application/json",
    )
    assert again.status_code == 422 and "signée" in again.json()["detail"]
    handed = client.post(
        f"/api/letters/{lt.pk}/hand-over", {"understanding_checked": True}, content_type="application/json"
    )
    assert handed.status_code == 200 and handed.json()["state"] == "Remise au patient"
    assert AuditEvent.objects.filter(object_id=str(lt.pk), action="hand_over", username="u_medecin").exists()


def test_invalid_content_is_refused_with_the_field(client, hospital):
    client.force_login(hospital["users"]["secretaire"])
    letter = _open(client, hospital)
    bad = {**letter["content"], "medications": [{"medicine": "X", "status": "inconnu"}]}
    resp = client.put(
        f"/api/letters/{letter['id']}",
        {"revision": letter["revision"], "content": bad},
        content_type="application/json",
    )
    assert resp.status_code == 422
    assert "status" in str(resp.json())


def test_other_roles_are_refused(client, hospital):
    client.force_login(hospital["users"]["medecin"])
    letter = _open(client, hospital)
    client.force_login(hospital["users"]["campagne"])
    assert client.get("/api/stays").json() == []
    resp = client.get(f"/api/letters/{letter['id']}")
    assert resp.status_code == 403 and "accès" in resp.json()["detail"]
    client.force_login(hospital["users"]["interne"])
    resp = client.post(f"/api/letters/{letter['id']}/sign")
    assert resp.status_code == 403 and "Seul un médecin" in resp.json()["detail"]


def test_openapi_schema_is_served(client):
    schema = client.get("/api/openapi.json").json()
    assert "/api/letters/{letter_id}/sign" in schema["paths"]


def test_blockers_are_exactly_what_signing_refuses(client, hospital):
    client.force_login(hospital["users"]["medecin"])
    letter = _open(client, hospital)
    lt = Letter.objects.get(pk=letter["id"])
    full = lt.parsed().model_copy(update=complete_content_updates()).model_dump(mode="json")
    full["recipients"].append({"role": "adresseur", "name": "Dr Sans Adresse", "channel": "mssante"})
    saved = client.put(
        f"/api/letters/{lt.pk}", {"revision": lt.revision, "content": full}, content_type="application/json"
    ).json()
    assert [b["field"] for b in saved["blockers"]] == ["recipients.2.mssante"]
    plan = {line["who"]: line for line in saved["delivery_plan"]}
    assert plan["Dr Sans Adresse (Praticien adresseur)"]["blocker"]
    assert plan["DMP (Mon espace santé)"]["electronic"] is True
    refused = client.post(f"/api/letters/{lt.pk}/sign")
    assert refused.status_code == 422 and saved["blockers"][0]["message"] in refused.json()["detail"]
    full["recipients"][2]["channel"] = "courrier"  # the explicit other channel
    saved = client.put(
        f"/api/letters/{lt.pk}",
        {"revision": saved["revision"], "content": full},
        content_type="application/json",
    ).json()
    assert saved["blockers"] == []
    assert client.post(f"/api/letters/{lt.pk}/sign").status_code == 200


def test_a_medecin_traitant_named_through_a_recipient(client, hospital):
    from tests.conftest import valid_rpps

    hospital["patient"].medecin_traitant = None  # the GAM knows none
    hospital["patient"].save()
    client.force_login(hospital["users"]["medecin"])
    letter = _open(client, hospital)
    assert letter["content"]["medecin_traitant"] is None and letter["medecin_traitant_difference"] == ""
    rpps = valid_rpps(777)
    gp = {"role": "medecin_traitant", "name": "Dr Jean Durand", "mssante": "jean.durand@medecin.mssante.fr"}
    wrong = {**letter["content"], "recipients": [{**gp, "rpps": rpps[:-1] + str((int(rpps[-1]) + 1) % 10)}]}
    resp = client.put(
        f"/api/letters/{letter['id']}",
        {"revision": letter["revision"], "content": wrong},
        content_type="application/json",
    )
    assert resp.status_code == 422 and "Destinataire 1, RPPS" in resp.json()["detail"]
    right = {**letter["content"], "recipients": [{**gp, "rpps": rpps}]}
    resp = client.put(
        f"/api/letters/{letter['id']}",
        {"revision": letter["revision"], "content": right},
        content_type="application/json",
    )
    mt = resp.json()["content"]["medecin_traitant"]
    assert resp.status_code == 200 and (mt["rpps"], mt["source"]) == (rpps, "medecin")
    assert resp.json()["content"]["medecin_traitant_replaced"] is None


def test_the_interns_submission_is_read_through_the_api(client, hospital):
    from liaison.letters import lifecycle, review

    letter = lifecycle.open_letter(hospital["stay"])
    content = letter.parsed().model_copy(
        update={**complete_content_updates(), "resistant_organisms_screened": True}
    )
    lifecycle.save_draft(letter.pk, content, letter.revision, hospital["users"]["interne"])
    client.force_login(hospital["users"]["medecin"])
    assert client.get(f"/api/letters/{letter.pk}").json()["review"] is None
    signing.submit(letter.pk, hospital["users"]["interne"], note="Relire")
    got = client.get(f"/api/letters/{letter.pk}").json()["review"]
    assert (got["state"], got["submitted_by"], got["to"], got["note"]) == (
        "a_valider",
        "u_interne",
        "",
        "Relire",
    )
    review.return_to_intern(letter.pk, hospital["users"]["medecin"], "Préciser la durée.")
    got = client.get(f"/api/letters/{letter.pk}").json()["review"]
    assert (got["state"], got["answered_by"], got["comment"]) == (
        "renvoyee",
        "u_medecin",
        "Préciser la durée.",
    )
