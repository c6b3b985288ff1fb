"""The API refuses a draft whose recipient's name holds CR/LF (security review, finding 6)."""

from __future__ import annotations

import pytest

from liaison.letters.models import Letter

pytestmark = pytest.mark.django_db


def test_a_recipient_name_with_crlf_is_refused_and_nothing_is_saved(client, hospital):
    client.force_login(hospital["users"]["secretaire"])
    letter = client.post(f"/api/stays/{hospital['stay'].pk}/letter").json()
    recipient = {"role": "autre", "name": "Dr Martin\r\nBcc: fuite@exemple.fr", "mssante": "m@x.mssante.fr"}
    bad = {**letter["content"], "recipients": [recipient]}
    resp = client.put(
        f"/api/letters/{letter['id']}",
        {"revision": letter["revision"], "content": bad},
        content_type="application/json",
    )
    assert resp.status_code == 422
    detail = resp.json()["detail"][0]
    assert detail["loc"][-3:] == ["recipients", 0, "name"]
    assert "caractère de contrôle interdit (U+000D, retour chariot)" in detail["msg"]
    assert Letter.objects.get(pk=letter["id"]).revision == letter["revision"]
