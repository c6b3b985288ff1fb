"""No stored value of an enumeration is shown to a user (issue 19, part 3).

Every page of every role (the layout check's SCREENS, the médecin traitant's demo mailbox, a
corrected letter), the PDFs of a signed letter and of a preview, and the CSV files a person opens
(an indicator's proof list of deliveries, the QLS audit grid), rendered by Django's test
client on the seeded demo (its past sent to the sandboxes, so mailboxes hold mails), are scanned:
the visible text (tags, scripts and e-mail addresses left out) must not hold, as a word, a value of
an enumeration of `liaison.web.labels` that differs from its French label.

A value is flagged only when it is not itself a word of its label, case and accents aside being
exact: « domicile » (« Retour au domicile ») or « autre » (« Autre destination ») are ordinary
words and labels at once, while « programmee », « qualifiee » or « rdv_a_prendre » are stored
forms. Upper-case codes (MCO, HAD, SMR, PRADO…) are the abbreviations users read and are not
flagged; nor are the few values that are ordinary French words (ORDINARY).
"""

from __future__ import annotations

import io
import re

import pypdf
import pytest
from django.contrib.auth.models import User
from django.test import Client
from lxml import html

from liaison.delivery.models import Delivery
from liaison.letters.models import Letter
from liaison.web.config import DemoConfig
from liaison.web.labels import registry
from tests.web.test_layout import ACCOUNTS, SCREENS, placeholders, seed_demo

ORDINARY = {"personne"}  # Correspondent.Kind « personne » (label « Professionnel »): a French word
_NOT_TEXT = re.compile(r"\S*@[\w.-]+|https?://\S+")  # addresses (also « <INS>@patient.mssante.fr »)


def stored_values() -> dict[str, list[str]]:
    """Each flagged value with the enumerations it belongs to."""
    out: dict[str, list[str]] = {}
    for kind, labels in registry().items():
        for value, label in labels.items():
            value = str(value)
            word = re.compile(rf"(?<![\w-]){re.escape(value)}(?![\w-])", re.IGNORECASE)
            if value in ORDINARY or not re.search(r"[a-z]", value) or word.search(label):
                continue
            out.setdefault(value, []).append(kind)
    return out


def raw_values(text: str, values: dict[str, list[str]]) -> list[str]:
    """The stored values found as words in `text`, each with some context."""
    text = " ".join(_NOT_TEXT.sub(" ", text).split())
    found = []
    for value, kinds in values.items():
        for m in re.finditer(rf"(?<![\w-]){re.escape(value)}(?![\w-])", text):
            found.append(
                f"« {value} » ({', '.join(kinds)}) : …{text[max(m.start() - 60, 0) : m.end() + 60]}…"
            )
            break
    return found


def visible_text(content: bytes) -> str:
    tree = html.fromstring(content)
    for bad in tree.xpath("//script|//style|//template"):
        bad.drop_tree()
    return tree.text_content()


def pdf_text(content: bytes) -> str:
    return " ".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(content)).pages)


def test_the_scan_knows_the_stored_forms_and_spares_ordinary_words():
    values = stored_values()
    for raw in ("programmee", "qualifiee", "validee", "rdv_a_prendre", "drug_treatment", "found", "mssante"):
        assert raw in values, raw
    for word in ("domicile", "autre", "urgence", "patient", "MCO"):
        assert word not in values, word
    assert raw_values("INS 1 · validee", values) and not raw_values("Identité validée", values)
    assert not raw_values("secretariat@ch-liaison.mssante.fr, <INS>@patient.mssante.fr", values)


@pytest.mark.slow
def test_no_page_nor_pdf_shows_a_stored_value(db, tmp_path, monkeypatch, settings):
    seed_demo(tmp_path, sandboxes=tmp_path / "var")
    monkeypatch.setenv("LIAISON_MSS_MAILDIR", str(tmp_path / "var" / "mail"))
    monkeypatch.setenv("LIAISON_DEMO_MAILBOXES", "1")
    settings.LIAISON_DEMO = DemoConfig.from_env()  # as the settings read it
    pages, problems = scan()
    assert pages > 50
    assert not problems, "\n".join(problems)


def scan() -> tuple[int, list[str]]:
    """Render every page of every role and the PDFs; return (pages seen, raw values found)."""
    values = stored_values()
    problems: list[str] = []
    mine = {"stay__unit__code__in": ["CARDIO", "MEDINT", "PNEUMO"]}  # dr.martin's units
    corrected = Letter.objects.filter(status=Letter.Status.SIGNED, version=2, **mine).first()
    gp = Delivery.objects.filter(recipient_role="medecin_traitant", letter__stay__unit__code="CARDIO").first()
    extra = {
        "medecin": [f"/lettres/{corrected.pk}/", f"/messagerie/{gp.recipient_address}/"],
    }
    pages = 0
    for role, username in ACCOUNTS.items():
        client = Client()
        if username:
            client.force_login(User.objects.get(username=username))
        ids = placeholders(role)
        paths = [s.path.format(**ids) for s in SCREENS if role in s.roles] + extra.get(role, [])
        for path in paths:
            resp = client.get(path, follow=True)
            assert resp.status_code == 200, (role, path, resp.status_code)
            pages += 1
            problems += [f"{role} {path} : {p}" for p in raw_values(visible_text(resp.content), values)]
        if role == "qualite":  # files a person opens in a spreadsheet: proof list, audit grid
            for path in ("/indicateurs/preuves/ACK-RECU.csv", f"/indicateurs/qls/{ids['audit']}/grille.csv"):
                resp = client.get(path)
                assert resp.status_code == 200, path
                text = resp.content.decode("utf-8-sig")
                assert text.count("\n") > 3, path
                problems += [f"{role} {path} : {p}" for p in raw_values(text, values)]
        if role == "medecin":
            for path in (f"/lettres/{ids['handed_over']}/lettre.pdf", f"/lettres/{ids['draft']}/apercu.pdf"):
                resp = client.get(path)
                assert resp.status_code == 200 and resp["Content-Type"] == "application/pdf", path
                problems += [f"{role} {path} : {p}" for p in raw_values(pdf_text(resp.content), values)]
    return pages, problems
