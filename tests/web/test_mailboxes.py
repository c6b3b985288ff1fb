"""The demo's MSSanté mailboxes (`/messagerie/…`): only when the demo turns them on, a mailbox's
letters only to the roles that may see their patients, every read audited, and an address that is
not a mailbox name (`..`, slashes, anything else) refused with a 404, never a 500."""

from __future__ import annotations

from email.message import EmailMessage

import pytest
from django.utils import timezone

from liaison.delivery.models import Delivery
from liaison.demo.sandboxes.mail import SandboxHandler, build_dsn, list_mailbox
from liaison.letters import lifecycle
from liaison.letters.models import AuditEvent
from liaison.letters.permissions import Role
from liaison.web.config import DemoConfig

pytestmark = pytest.mark.django_db

GP = "anne.generaliste@medecin.mssante.fr"
SENDER = "cardiologie@ch-test.mssante.fr"


def _mail(message_id: str, subject: str) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"], msg["Message-ID"] = SENDER, GP, subject, message_id
    msg.set_content("Lettre de liaison ci-jointe.")
    msg.add_attachment(b"%PDF-1.7 lettre", maintype="application", subtype="pdf", filename="lettre.pdf")
    msg.add_attachment(b"PK zip", maintype="application", subtype="zip", filename="IHE_XDM.ZIP")
    return msg.as_bytes()


@pytest.fixture
def boxes(hospital, tmp_path, monkeypatch, settings):
    """The GP's mailbox holds the letter of the hospital's stay (cardiology) and one of another
    stay in psychiatry that no account here works in; the sender's box holds the DSN."""
    from liaison.letters.models import Stay

    root = tmp_path / "mail"
    root.mkdir()
    monkeypatch.setenv("LIAISON_MSS_MAILDIR", str(root))
    monkeypatch.setenv("LIAISON_DEMO_MAILBOXES", "1")
    settings.LIAISON_DEMO = DemoConfig.from_env()  # as the settings read it
    letter = lifecycle.open_letter(hospital["stay"])
    other_stay = Stay.objects.create(
        establishment=hospital["est"],
        patient=hospital["patient"],
        unit=hospital["other"],
        visit_number="V-PSY",
        sector="PSY",
        admission_at=hospital["stay"].admission_at,
        discharge_at=hospital["stay"].discharge_at,
    )
    other = lifecycle.open_letter(other_stay)
    handler = SandboxHandler(root)
    ids = {}
    for name, lt in (("cardio", letter), ("psy", other)):
        d = Delivery.objects.create(
            letter=lt,
            channel="mssante",
            recipient_role="medecin_traitant",
            recipient_address=GP,
            next_attempt_at=timezone.now(),
        )
        raw = _mail(d.message_id, f"Lettre de liaison {name}")
        handler.deliver(GP, raw, d.message_id)
        ids[name] = d.message_id
        if name == "cardio":
            handler.deliver(SENDER, build_dsn(raw, SENDER, GP))
    return {"root": root, "letter": letter, "other": other, "ids": ids, **hospital}


def _key(root, subject: str) -> str:
    return next(m.key for m in list_mailbox(root, GP) if m.subject == subject)


def test_mailboxes_exist_only_when_the_demo_turns_them_on(client, boxes, monkeypatch, settings):
    client.force_login(boxes["users"]["medecin"])
    assert client.get(f"/messagerie/{GP}/").status_code == 200
    monkeypatch.delenv("LIAISON_DEMO_MAILBOXES")
    settings.LIAISON_DEMO = DemoConfig.from_env()
    assert client.get("/messagerie/").status_code == 404
    assert client.get(f"/messagerie/{GP}/").status_code == 404


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_a_mailbox_shows_only_the_letters_the_role_may_see(client, boxes, role):
    client.force_login(boxes["users"][role])
    page = client.get(f"/messagerie/{GP}/")
    index = client.get("/messagerie/")
    key = _key(boxes["root"], "Lettre de liaison cardio")
    attachment = client.get(f"/messagerie/{GP}/{key}/0/")
    psy = client.get(f"/messagerie/{GP}/{_key(boxes['root'], 'Lettre de liaison psy')}/0/")
    assert psy.status_code == 404  # nobody here works in psychiatry
    if role in {"medecin", "interne", "sage_femme", "secretaire", "infirmier"}:
        body = page.content.decode()
        assert page.status_code == 200 and "Lettre de liaison cardio" in body
        assert "Lettre de liaison psy" not in body
        assert GP in index.content.decode()
        assert attachment.status_code == 200 and attachment.content == b"%PDF-1.7 lettre"
        trail = AuditEvent.objects.filter(username=f"u_{role}")
        assert trail.filter(action="list", why__contains="messagerie").exists()
        download = trail.get(action="download", object_type="letter")
        assert download.object_id == str(boxes["letter"].pk) and "messagerie" in download.why
    else:
        assert page.status_code == 404 and attachment.status_code == 404
        assert GP not in index.content.decode() if index.status_code == 200 else index.status_code == 404


def test_reports_follow_the_letter_they_are_about(client, boxes):
    client.force_login(boxes["users"]["medecin"])
    assert "accusé de réception" in client.get(f"/messagerie/{SENDER}/").content.decode()
    client.force_login(boxes["users"]["campagne"])
    assert client.get(f"/messagerie/{SENDER}/").status_code == 404


@pytest.mark.parametrize(
    "address", ["..", "...", ".", "%2e%2e", "..%2f..", "pas-une-adresse", "a@b", "x@y..mssante.fr", "é@x.fr"]
)
def test_an_address_that_is_not_a_mailbox_name_is_refused(client, boxes, address):
    client.force_login(boxes["users"]["medecin"])
    assert client.get(f"/messagerie/{address}/").status_code == 404
    assert client.get(f"/messagerie/{address}/1.M1P1Q1.x/0/").status_code == 404


def test_a_key_that_is_not_a_maildir_key_is_refused(client, boxes):
    client.force_login(boxes["users"]["medecin"])
    for key in ("..", "..%2f..%2fetc", "new", "%2e%2e"):
        assert client.get(f"/messagerie/{GP}/{key}/0/").status_code == 404
