"""The letter form refuses a control character that a crafted request puts in a one-line field
(security review, finding 6): the draft is not saved and the field is named."""

from __future__ import annotations

import pytest

from liaison.letters import lifecycle
from liaison.letters.models import Letter
from tests.web.test_views import HTMX, _login, complete_form, today  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db


def test_a_recipient_name_with_crlf_is_not_saved(client, today):  # noqa: F811
    letter = lifecycle.open_letter(today["stay"])
    _login(client, today, "secretaire")
    data = complete_form(
        revision=letter.revision,
        **{"recipients.0.role": "autre", "recipients.0.name": "Dr Martin\r\nBcc: fuite@exemple.fr"},
    )
    frag = client.post(f"/lettres/{letter.pk}/brouillon/", data, **HTMX).content.decode()
    assert "Brouillon non enregistré" in frag and "Champ « name » : caractère de contrôle interdit" in frag
    assert Letter.objects.get(pk=letter.pk).revision == letter.revision
    panel = client.post(f"/lettres/{letter.pk}/controle/", data).content.decode()
    assert "caractère de contrôle interdit" in panel
    # the multi-line summary keeps its line breaks
    data = complete_form(revision=letter.revision, medical_summary="Ligne 1\r\nLigne 2")
    assert (
        "Brouillon enregistré"
        in client.post(f"/lettres/{letter.pk}/brouillon/", data, **HTMX).content.decode()
    )
    assert Letter.objects.get(pk=letter.pk).parsed().medical_summary == "Ligne 1\r\nLigne 2"
