"""The administrator reads the ADT messages received in the Django admin (read only)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User

from liaison.ingest.apply import process
from liaison.ingest.models import InboundMessage
from liaison.letters.permissions import Role, ensure_groups
from tests.ingest.messages import adt

URL = "/admin/ingest/inboundmessage/"


@pytest.fixture
def administrator(hospital, client):
    ensure_groups()
    user = User.objects.create_user("admin-etab", password="x", is_staff=True)
    user.groups.add(Group.objects.get(name=Role.ADMIN_ETABLISSEMENT.value))
    client.force_login(user)
    return user


def test_list_search_and_raw_message(administrator, client):
    process(adt("A01", "ADM-1", ipp="IPP777", nda="NDA777"))
    process(adt("A03", "ADM-2", ipp="IPP888", nda="NDA888", discharge="202611141500"))
    ok = InboundMessage.objects.get(control_id="ADM-1")

    page = client.get(URL)
    assert page.status_code == 200
    html = page.content.decode()
    for text in ("ADT^A01", "ADM-1", "IPP777", "ADM-2", "Séjour inconnu", "Refusé", "Accepté"):
        assert text in html

    found = client.get(URL, {"q": "IPP777"}).content.decode()
    assert "ADM-1" in found and "ADM-2" not in found
    assert "ADM-2" in client.get(URL, {"q": "ADM-2"}).content.decode()

    detail = client.get(f"{URL}{ok.pk}/change/")
    assert detail.status_code == 200
    assert "PID|1||IPP777^^^CHTEST" in detail.content.decode()
    assert client.get(f"{URL}add/").status_code == 403
    assert client.post(f"{URL}{ok.pk}/delete/").status_code == 403


def test_other_roles_do_not_see_it(hospital, client):
    ensure_groups()
    user = User.objects.create_user("secretaire-x", password="x", is_staff=True)
    user.groups.add(Group.objects.get(name=Role.SECRETAIRE.value))
    client.force_login(user)
    assert client.get(URL).status_code == 403


def test_the_raw_message_shows_no_identity_and_its_reading_is_audited(administrator, client):
    """The administrator sees the message's structure and integration keys, never the patient."""
    from liaison.letters.models import AuditEvent
    from tests.conftest import valid_nir

    process(adt("A01", "ADM-9", ipp="IPP999", nda="NDA999", family="ZORGLUB", given="Hortense"))
    msg = InboundMessage.objects.get(control_id="ADM-9")
    assert "ZORGLUB" in msg.raw  # stored whole: only the admin's view is masked
    html = client.get(f"{URL}{msg.pk}/change/").content.decode()
    for identity in ("ZORGLUB", "Hortense", "19850412", "Lilas", "0238000000", valid_nir()):
        assert identity not in html, identity
    assert "IPP999^^^CHTEST" in html and "NDA999" in html and "ADT^A01" in html
    assert "PID|1||IPP999^^^CHTEST&amp;1.2.250.1.999.1&amp;ISO^PI~***||***||***|***|" in html
    trace = AuditEvent.objects.get(object_type="inboundmessage", object_id=str(msg.pk))
    assert trace.username == "admin-etab" and trace.action == "read"


def test_clinical_segments_and_relatives_are_masked():
    from liaison.ingest.masking import mask_identities

    raw = adt("A01", "ADM-10") + "\rNK1|1|DUPOND^Jean|SPO\rOBX|1|NM|2160-0^Créatinine^LN||180|umol/L"
    masked = mask_identities(raw)
    assert "NK1|1|***|***" in masked and "OBX|1|***|***||***|***" in masked
    assert "DUPOND" not in masked and "Créatinine" not in masked and "180" not in masked.split("OBX")[1]
    assert mask_identities("pas du HL7") == "***"
