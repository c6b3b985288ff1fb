"""The review's « roles × URLs » probe (issue 16): every role, anonymous and a superuser request
every named URL of the project (the URL resolver walked, admin included). No answer is a 500; the
pages of a patient nobody here works with (a stay in psychiatry, its letter, its mail) answer
302/401/403/404 to everyone; and no page shows a patient to a role that must see none.

Path parameters are filled with rows of the fixture below; a new URL whose parameter has no value
here fails the probe until one is added (so every new page is probed)."""

from __future__ import annotations

import datetime as dt
from email.message import EmailMessage

import pytest
from django.contrib.auth.models import User
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from liaison.delivery.models import Delivery
from liaison.demo.sandboxes.mail import SandboxHandler, list_mailbox
from liaison.letters import lifecycle
from liaison.letters.models import Patient, Stay
from liaison.letters.permissions import CLINICAL_ROLES, Role, ensure_groups
from liaison.web.config import DemoConfig
from tests.conftest import valid_nir

pytestmark = pytest.mark.django_db

GP = "anne.generaliste@medecin.mssante.fr"
REFUSED = {302, 401, 403, 404, 405}
# Who must never see a patient on any page: the hospital's (DUPONT, cardiology) or the foreign one.
NO_PATIENT = {
    Role.QUALITE.value,
    Role.ADMIN_ETABLISSEMENT.value,
    Role.CAMPAGNE.value,
    "superuser",
    "anonymous",
}
FOREIGN = "ZORGLUB"  # the patient of a unit (psychiatry) nobody here works in


def named_urls() -> list[tuple[str, list[str]]]:
    """(namespaced name, its parameter names) for every named URL, the admin's included."""
    out: list[tuple[str, list[str]]] = []

    def params(pattern) -> list[str]:  # type: ignore[no-untyped-def]
        converters = getattr(pattern, "converters", None)
        return list(converters) if converters else list(pattern.regex.groupindex)

    def walk(patterns, namespace: str | None, inherited: list[str]) -> None:  # type: ignore[no-untyped-def]
        for p in patterns:
            if isinstance(p, URLResolver):
                ns = ":".join(x for x in (namespace, p.namespace) if x) or None
                walk(p.url_patterns, ns, inherited + params(p.pattern))
            elif isinstance(p, URLPattern) and p.name:
                out.append((f"{namespace}:{p.name}" if namespace else p.name, inherited + params(p.pattern)))

    walk(get_resolver().url_patterns, None, [])
    return sorted(set((n, tuple(ps)) for n, ps in out))  # type: ignore[misc]


@pytest.fixture
def world(hospital, tmp_path, monkeypatch, settings):
    """The hospital, a stay in psychiatry with a letter mailed to the GP, a QLS audit, a campaign
    with a target, a plan and an attachment, a superuser and the administrator as staff."""
    from liaison.campaign.models import ActionPlan, Attachment, Campaign, Target
    from liaison.campaign.models import Establishment as CampaignEstablishment
    from liaison.indicators import qls

    ensure_groups()
    hospital["users"]["admin_etablissement"].is_staff = True
    hospital["users"]["admin_etablissement"].save()
    root = User.objects.create_superuser("root", password="x")
    foreign_patient = Patient.objects.create(
        establishment=hospital["est"],
        ipp="IPP-PSY",
        ins_matricule=valid_nir(order="018"),
        ins_oid=hospital["patient"].ins_oid,
        identity_status=hospital["patient"].identity_status,
        birth_family_name=FOREIGN,
        first_given_name="Hortense",
        given_names="Hortense",
        birth_date=dt.date(1970, 1, 2),
        birth_place_cog="45234",
        sex="F",
    )
    stay = Stay.objects.create(
        establishment=hospital["est"],
        patient=foreign_patient,
        unit=hospital["other"],
        visit_number="V-PSY",
        sector="PSY",
        admission_at=hospital["stay"].admission_at,
        discharge_at=hospital["stay"].discharge_at,
    )
    letter = lifecycle.open_letter(stay)
    # The demo's mailboxes, on, with the foreign letter in the GP's box.
    mail = tmp_path / "mail"
    mail.mkdir()
    monkeypatch.setenv("LIAISON_MSS_MAILDIR", str(mail))
    monkeypatch.setenv("LIAISON_DEMO_MAILBOXES", "1")
    settings.LIAISON_DEMO = DemoConfig.from_env()  # as the settings read it
    delivery = Delivery.objects.create(
        letter=letter,
        channel="mssante",
        recipient_role="medecin_traitant",
        recipient_address=GP,
        next_attempt_at=timezone.now(),
        state=Delivery.State.GIVEN_UP,  # listed among the failures the administrator follows
        failing_since=timezone.now(),
        last_error="550 boîte du destinataire inconnue",
    )
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "psy@ch-test.mssante.fr", GP, f"Lettre de liaison {FOREIGN}"
    msg["Message-ID"] = delivery.message_id
    msg.set_content(f"Lettre de liaison de {FOREIGN}.")
    msg.add_attachment(b"%PDF-1.7 lettre", maintype="application", subtype="pdf", filename="lettre.pdf")
    SandboxHandler(mail).deliver(GP, msg.as_bytes(), delivery.message_id)
    key = list_mailbox(mail, GP)[0].key
    # A QLS audit saved without a campaign (opens no letter) and a campaign of the campaign role.
    audit = qls.start_audit(
        hospital["est"], qls.default_grid("MCO"), dt.date(2026, 11, 1), dt.date(2026, 11, 30), "1", None
    )
    target_est = CampaignEstablishment.objects.create(finess_eg=hospital["est"].finess_eg, name="CH de Test")
    campaign = Campaign.objects.create(name="Campagne 2026", year=2024, indicators=["QLS"])
    target = Target.objects.create(campaign=campaign, establishment=target_est, rank=1, score=1.0, gap=1.0)
    plan = ActionPlan.objects.create(target=target)
    attachment = Attachment.objects.create(plan=plan, name="cr.pdf", data=b"%PDF", size=4)
    values = {
        "stay_id": stay.pk,
        "letter_id": letter.pk,
        "delivery_id": delivery.pk,
        "audit_id": audit.pk,
        "indicator_id": "SIGN-J0",
        "fmt": "csv",
        "address": GP,
        "key": key,
        "index": 0,
        "campaign_id": campaign.pk,
        "target_id": target.pk,
        "attachment_id": attachment.pk,
        "finess": target_est.finess_eg,
        # the admin's
        "app_label": "letters",
        "object_id": hospital["other"].pk,
        "id": hospital["users"]["medecin"].pk,
        "content_type_id": 1,
        "url": "",
    }
    return {**hospital, "root": root, "values": values}


def _url(name: str, params: tuple[str, ...], values: dict) -> str:
    missing = [p for p in params if p not in values]
    assert not missing, f"{name}: no fixture value for {missing}: add one to the probe"
    if name.startswith("admin:") and "object_id" in params and "content_type_id" not in params:
        model = name.split(":")[1].rsplit("_", 1)[0]
        return _admin_object_url(name, model, values)
    return reverse(name, kwargs={p: values[p] for p in params})


def _admin_object_url(name: str, model: str, values: dict) -> str:
    from django.contrib import admin

    for m in admin.site._registry:
        if f"{m._meta.app_label}_{m._meta.model_name}" == model:
            obj = m.objects.order_by("pk").first()
            if obj is None:
                return reverse(name, kwargs={"object_id": 999999})
            return reverse(name, kwargs={"object_id": obj.pk})
    raise AssertionError(f"{name}: unknown admin model")


PATIENT_PAGES = (
    "open_letter",
    "checklist_save",
    "letter",
    "letter_check",
    "letter_save",
    "letter_record",
    "letter_record_take",
    "letter_preview_pdf",
    "letter_cda",
    "letter_pdf",
    "letter_sign",
    "letter_hand_over",
    "letter_correct",
    "letter_submit",
    "letter_return",
    "mailbox",
    "mail_attachment",
    "api:open_letter",
    "api:get_letter",
    "api:save_letter",
    "api:sign_letter",
    "api:hand_over_letter",
    "api:correct_letter",
)


def test_the_probe_covers_the_patient_pages():
    names = {n for n, _ in named_urls()}
    assert set(PATIENT_PAGES) <= names
    assert len(names) > 100  # the project's URLs and the admin's


@pytest.mark.parametrize("who", [r.value for r in Role] + ["superuser", "anonymous"])
def test_every_role_on_every_named_url(client, world, who):
    if who == "superuser":
        client.force_login(world["root"])
    elif who != "anonymous":
        client.force_login(world["users"][who])
    answers: dict[str, int] = {}
    leaks: list[str] = []
    for name, params in named_urls():
        url = _url(name, params, world["values"])
        response = client.get(url)
        answers[name] = response.status_code
        body = b"" if response.get("Content-Type", "").startswith("application/pdf") else response.content
        if who == "superuser" and name.startswith("admin:"):
            # The superuser owns the system: the audit trail names the patient read, a deletion
            # summary lists the rows it would remove. He holds no role: the app shows him nothing.
            continue
        if who == "dpo" and name in ("access_log", "access_log_csv"):
            # The data protection officer's job: the trail of every patient of the establishment,
            # this one included (the refused accesses to his pages are traces about him).
            continue
        if FOREIGN.encode() in body:
            leaks.append(f"{name} ({url}) shows {FOREIGN}")
        if who in NO_PATIENT and b"DUPONT" in body:
            leaks.append(f"{name} ({url}) shows DUPONT to {who}")
    errors = {n: s for n, s in answers.items() if s >= 500}
    assert not errors, errors
    shown = {n: answers[n] for n in PATIENT_PAGES if answers[n] not in REFUSED}
    assert not shown, f"{who} opens the foreign patient's pages: {shown}"
    assert not leaks, leaks
    if who in {r.value for r in CLINICAL_ROLES}:  # their own unit's list still answers
        assert answers["stays"] == 200 and answers["api:list_stays"] == 200
