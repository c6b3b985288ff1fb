"""Every page of every role holds on a desktop (1400 px), a tablet (1024 px) and a phone (390 px),
checked in Debian Chromium on the demo hospital served by a real `liaison runserver`.

A page fails when an element is wider than the screen or than the box drawn around it (outside a
container meant to scroll), when text is clipped, when a chart's text is cut, or when two controls
are drawn over each other (`layout_probe.js` says how each is measured), or when the browser
reports that the Content-Security-Policy blocked something (inline script, handler, source).
Every `<details>` is opened first so what it hides is checked too. One browser, one login per
role, each page loaded once and measured at the three widths.

Screenshots of every page at every width go to `var/layout/` (full page) for a person to look at;
`LIAISON_SCREENSHOTS=1` also regenerates the README's set in docs/screenshots/.

To check a new page, add it to SCREENS (a path, with `{placeholders}` that `placeholders()`
resolves from the demo data, and the roles that use it).
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.db import connections
from django.utils import timezone

from tests.web.test_browser import CHROMIUM_ARGS, ROOT, SHOTS, server_url  # noqa: F401  (fixture)

pytestmark = pytest.mark.slow

PROBE = (Path(__file__).parent / "layout_probe.js").read_text(encoding="utf-8")
OUT = ROOT / "var" / "layout"
WIDTHS = {"bureau": 1400, "tablette": 1024, "telephone": 390}
CLINICAL = ("medecin", "interne", "sage_femme", "secretaire", "infirmier")
SIGNERS = ("medecin", "sage_femme")
ACCOUNTS = {
    "medecin": "dr.martin",
    "interne": "interne.petit",
    "sage_femme": "sf.robin",
    "secretaire": "sec.durand",
    "infirmier": "ide.moreau",
    "qualite": "qualite",
    "admin_etablissement": "admin.etab",
    "campagne": "campagne.ars",
    "dpo": "dpo",
    "anonymous": None,
}


@dataclass(frozen=True)
class Screen:
    name: str
    path: str  # may hold {placeholders} resolved per role by placeholders()
    roles: tuple[str, ...]


SCREENS: list[Screen] = [
    Screen("connexion", "/connexion/", ("anonymous",)),
    Screen("sorties-du-jour", "/", CLINICAL),
    Screen("tous-les-sejours", "/sejours/", CLINICAL),
    Screen("lettre-brouillon", "/lettres/{draft}/", CLINICAL),
    Screen("verifier-et-signer", "/lettres/{draft}/signer/", SIGNERS),
    # the intern's hand-off: « à valider » (worklist section and letter) and « renvoyée »
    Screen("lettre-a-valider", "/lettres/{to_validate}/", ("medecin", "interne")),
    Screen("signer-a-valider", "/lettres/{to_validate}/signer/", ("medecin",)),
    Screen("lettre-renvoyee", "/lettres/{returned}/", ("medecin", "interne")),
    Screen("lettre-a-remettre", "/lettres/{to_hand_over}/", CLINICAL),
    Screen("lettre-remise", "/lettres/{handed_over}/", CLINICAL),
    Screen("messagerie", "/messagerie/", CLINICAL),
    Screen("indicateurs", "/indicateurs/", ("medecin", "qualite")),
    Screen("audits-qls", "/indicateurs/qls/", ("qualite",)),
    Screen("audit-qls", "/indicateurs/qls/{audit}/", ("qualite",)),
    Screen("ifaq", "/indicateurs/ifaq/", ("qualite",)),
    Screen("indicateurs-numeriques", "/indicateurs/numeriques/", ("qualite",)),
    Screen("campagne", "/campagne/", ("campagne", "qualite")),
    Screen("campagne-chiffres", "/campagne/chiffres/", ("campagne",)),
    Screen("campagne-ciblage", "/campagne/ciblage/", ("campagne",)),
    Screen("campagne-detail", "/campagne/campagnes/{campaign}/", ("campagne",)),
    Screen("campagne-evaluation", "/campagne/campagnes/{campaign}/evaluation/", ("campagne",)),
    Screen("campagne-plan", "/campagne/campagnes/{campaign}/cibles/{target}/plan/", ("campagne",)),
    Screen("campagne-etablissements", "/campagne/etablissements/", ("campagne",)),
    Screen("campagne-profil", "/campagne/etablissements/{finess}/", ("campagne",)),
    Screen("acces-dossier", "/acces-dossier/", ("dpo",)),
    Screen("admin", "/admin/", ("admin_etablissement",)),
    Screen("admin-unites", "/admin/letters/unit/", ("admin_etablissement",)),
    Screen("envois-en-echec", "/envois/echecs/", ("admin_etablissement",)),
    Screen("etat-de-liaison", "/sante/", ("admin_etablissement",)),
]


def placeholders(role: str) -> dict[str, object]:
    """Ids of the demo's rows that this role may open (letters of its own units)."""
    from liaison.campaign.models import Campaign
    from liaison.indicators.models import QlsAudit
    from liaison.letters.models import Letter

    out: dict[str, object] = {}
    username = ACCOUNTS.get(role)
    if role in CLINICAL and username:
        units = User.objects.get(username=username).profile.units.all()
        mine = Letter.objects.filter(stay__unit__in=units).order_by("pk")
        signed = mine.filter(status=Letter.Status.SIGNED)
        for key, rows in (
            ("draft", mine.filter(status=Letter.Status.DRAFT)),
            ("to_hand_over", signed.filter(handed_over_at__isnull=True)),
            ("handed_over", signed.filter(handed_over_at__isnull=False)),
        ):
            first = rows.first()
            if first:
                out[key] = first.pk
        for key, outcome in (("to_validate", "a_valider"), ("returned", "renvoyee")):
            reviewed = mine.filter(status=Letter.Status.DRAFT, reviews__outcome=outcome).first()
            if reviewed:
                out[key] = reviewed.pk
    audit = QlsAudit.objects.order_by("pk").first()
    campaign = Campaign.objects.order_by("pk").first()
    if audit:
        out["audit"] = audit.pk
    if campaign:
        target = campaign.targets.order_by("rank").first()
        out.update(campaign=campaign.pk, target=target.pk, finess=target.establishment.finess_eg)
    return out


@pytest.fixture
def demo_site(transactional_db, settings, monkeypatch, tmp_path, request):
    """The demo hospital (small), a saved QLS audit, a synthetic QLS campaign; then the server."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]  # the server's
    seed_demo(tmp_path)
    for user in User.objects.all():
        user.set_password("secret-demo")
        user.save()
    maildir = tmp_path / "mail"
    maildir.mkdir()
    monkeypatch.setenv("LIAISON_MSS_MAILDIR", str(maildir))
    monkeypatch.setenv("LIAISON_DEMO_MAILBOXES", "1")
    return request.getfixturevalue("server_url")


def seed_demo(tmp_path: Path, sandboxes: Path | None = None) -> None:
    """The demo hospital (small; its past sent to `sandboxes` if given), a saved QLS audit, a
    synthetic QLS campaign, and stays of every clinical role leaving today."""
    import random

    from liaison.campaign import services
    from liaison.campaign.models import ActionItem, ActionPlan
    from liaison.demo import hospital as demo
    from liaison.demo.synthetic import campaign as synthetic
    from liaison.indicators import qls
    from liaison.letters.models import Letter, Stay

    today = timezone.localdate()
    demo.generate(stays=100, seed=1, today=today, sandboxes=sandboxes)
    est = qls.the_establishment()
    qls.start_audit(
        est,
        qls.default_grid("MCO"),
        today - dt.timedelta(days=60),
        today,
        seed=1,
        user=User.objects.get(username="qualite"),
        label="Audit de démonstration",
    )
    pop = synthetic.population(120, seed=5)
    for year in (2022, 2024):
        f = tmp_path / f"resultats-iqss-qualhas-open-data-{year}.csv"
        f.write_text(synthetic.qls_csv(pop, year, seed=5), encoding="utf-8")
        services.import_file(f)
    campaign = services.save_campaign("Campagne QLS fictive", ["QLS_MCO", "QLS_CA"], 2022)
    ids = list(campaign.targets.values_list("pk", flat=True))
    campaign.targets.exclude(pk__in=random.Random(5).sample(ids, len(ids) // 2)).update(selected=False)
    plan = ActionPlan.objects.create(target=campaign.targets.filter(selected=True).order_by("rank").first())
    ActionItem.objects.create(
        plan=plan, criterion="handed_over", action="Remise le jour même", status="en_cours"
    )
    # a few stays of every clinical role leave today, with letters in every state, so that the
    # worklist has rows whatever the hour
    leave = timezone.now() - dt.timedelta(minutes=30)
    for role in CLINICAL:
        ids = placeholders(role)
        for key in ("draft", "to_hand_over", "handed_over"):
            stay = Letter.objects.get(pk=ids[key]).stay
            if stay.discharge_at:
                Stay.objects.filter(pk=stay.pk).update(
                    discharge_at=leave, admission_at=min(stay.admission_at, leave - dt.timedelta(hours=2))
                )
                Letter.objects.filter(stay=stay, handed_over_at__isnull=False).update(handed_over_at=leave)
    # the demo's intern submitted a letter to the senior (« à valider »); another comes back returned
    from liaison.letters.models import LetterReview

    intern = User.objects.get(username=ACCOUNTS["interne"])
    senior = User.objects.get(username=ACCOUNTS["medecin"])
    assert LetterReview.objects.filter(submitted_by=intern, outcome=LetterReview.Outcome.PENDING).exists()
    units = intern.profile.units.all() & senior.profile.units.all()
    draft = (
        Letter.objects.filter(stay__unit__in=units, status=Letter.Status.DRAFT, reviews__isnull=True)
        .order_by("pk")
        .first()
    )
    now = timezone.now()
    LetterReview.objects.create(
        letter=draft,
        submitted_by=intern,
        submitted_at=now - dt.timedelta(hours=2),
        outcome=LetterReview.Outcome.RETURNED,
        answered_by=senior,
        answered_at=now - dt.timedelta(hours=1),
        comment="Ajouter le rendez-vous de cardiologie à un mois et préciser la durée du furosémide.",
    )


# The README's phone, tablet and desktop views (LIAISON_SCREENSHOTS=1), beside test_browser's.
README_SHOTS = {
    ("sorties-du-jour", "infirmier", "telephone"): "5-sorties-du-jour-telephone",
    ("lettre-a-remettre", "infirmier", "telephone"): "6-remise-telephone",
    ("lettre-brouillon", "medecin", "tablette"): "7-lettre-tablette",
    ("indicateurs", "qualite", "bureau"): "8-indicateurs",
}
PNG = bool(os.environ.get("LIAISON_SCREENSHOTS"))


def measure(page, shot_to: Path) -> list[str]:
    """Open every <details>, run the probe, save the full page (JPEG: fast; PNG on request)."""
    page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
    found = page.evaluate(PROBE)
    if PNG:
        page.screenshot(path=str(shot_to.with_suffix(".png")), full_page=True)
    else:
        page.screenshot(path=str(shot_to.with_suffix(".jpg")), full_page=True, type="jpeg", quality=60)
    return found


def test_every_page_holds_on_desktop_tablet_and_phone(demo_site, monkeypatch):
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    OUT.mkdir(parents=True, exist_ok=True)
    for old in [*OUT.glob("*.png"), *OUT.glob("*.jpg")]:
        old.unlink()
    problems: list[str] = []
    checked = 0
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        for role, username in ACCOUNTS.items():
            screens = [s for s in SCREENS if role in s.roles]
            if not screens:
                continue
            ids = placeholders(role)
            context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="fr-FR")
            page = context.new_page()
            page.set_default_timeout(15_000)

            # Anything the Content-Security-Policy blocks (inline script, handler, foreign source).
            def csp_report(message, role=role, page=page, problems=problems) -> None:
                if "Content Security Policy" in message.text:
                    problems.append(f"{page.url} · {role} · CSP · {message.text[:200]}")

            page.on("console", csp_report)
            if username:
                page.goto(f"{demo_site}/connexion/")
                page.fill("#id_username", username)
                page.fill("#id_password", "secret-demo")
                page.click("button[type=submit]")
                page.wait_for_url(re.compile(r"^(?!.*/connexion/)"))
            for screen in screens:
                try:
                    path = screen.path.format(**ids)
                except KeyError as exc:
                    raise AssertionError(f"{screen.name} : rien à ouvrir pour {role} ({exc})") from exc
                page.set_viewport_size({"width": 1400, "height": 900})
                response = page.goto(demo_site + path)
                assert response and response.status == 200, (
                    f"{role} {path} : HTTP {response and response.status}"
                )
                for label, width in WIDTHS.items():
                    page.set_viewport_size({"width": width, "height": 900})
                    found = measure(page, OUT / f"{screen.name}--{role}--{label}")
                    if PNG and (screen.name, role, label) in README_SHOTS:
                        page.evaluate("window.scrollTo(0, 0)")
                        SHOTS.mkdir(parents=True, exist_ok=True)
                        page.screenshot(path=str(SHOTS / f"{README_SHOTS[screen.name, role, label]}.png"))
                    checked += 1
                    problems += [f"{path} · {role} · {width} px · {f}" for f in found]
            context.close()
        browser.close()
    connections.close_all()  # ORM calls made while Playwright's loop ran got their own connection
    (OUT / "defauts.txt").write_text("\n".join(problems) + "\n", encoding="utf-8")
    assert checked >= 3 * len(SCREENS)
    assert not problems, f"{len(problems)} défauts de mise en page :\n" + "\n".join(problems)
