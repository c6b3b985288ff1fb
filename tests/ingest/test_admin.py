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
