"""Clinician login with Pro Santé Connect, against a real OpenID Connect provider on loopback
(panva's oidc-provider configured with PSC's scopes and claims, real signed tokens): a known
physician gets in; an unknown RPPS, an identity without RPPS or without a role, a wrong `state`, a
wrong `nonce`, a replayed callback, a forged and an expired token are refused in French, logged
and traced, nobody logged in. Outside the demo a clinician's local password is refused, the
administrators keep theirs. A signature asks for an authentication of less than 15 minutes."""

from __future__ import annotations

import html
import logging
import socket
import time

import pytest
from django.contrib.auth.models import User
from django.test import Client

from liaison.letters import lifecycle
from liaison.letters.models import AuditEvent, Letter, Practitioner, Profession
from tests.conftest import complete_content_updates, valid_rpps
from tests.web import psc_provider

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def issuer(tmp_path_factory):
    with psc_provider.start(tmp_path_factory.mktemp("psc")) as url:
        yield url


@pytest.fixture
def psc(settings, issuer):
    settings.PSC = psc_provider.settings_for(issuer)
    return issuer


def logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def start_login(client: Client, path: str = "/connexion/psc/") -> str:
    resp = client.get(path)
    assert resp.status_code == 302
    return resp["Location"]


def psc_login(client: Client, login: str) -> tuple[str, object]:
    """The whole round trip; the callback URL and Liaison's answer to it."""
    callback = psc_provider.through_provider(start_login(client), login)
    return callback, client.get(callback)


def refusal(resp) -> str:  # type: ignore[no-untyped-def]
    assert resp.status_code == 403
    body = html.unescape(resp.content.decode())
    assert "Connexion refusée" in body and "Vous n'êtes pas connecté" in body
    return body


def last_refusal() -> AuditEvent:
    event = AuditEvent.objects.filter(action="login_refused").order_by("-pk").first()
    assert event is not None
    return event


def test_the_login_page_shows_the_psc_button_only_when_psc_is_configured(hospital, settings, psc):
    assert "Se connecter avec Pro Santé Connect" in Client().get("/connexion/").content.decode()
    settings.PSC = {**settings.PSC, "CLIENT_ID": ""}
    assert "Pro Santé Connect" not in Client().get("/connexion/").content.decode()
    assert Client().get("/connexion/psc/").status_code == 404


def test_a_known_physician_logs_in_with_psc_and_gets_the_worklist(hospital, psc):
    client = Client()
    authorization = start_login(client)
    assert authorization.startswith(psc)
    for param in ("scope=openid+scope_all", "acr_values=eidas1", "state=", "nonce=", "response_type=code"):
        assert param in authorization
    _, resp = psc_login(client, "medecin")
    assert resp.status_code == 302 and resp["Location"] == "/"
    assert logged_in(client) and int(client.session["_auth_user_id"]) == hospital["users"]["medecin"].pk
    page = client.get("/").content.decode()
    assert "Sorties du jour" in page
    stamp = client.session["liaison_auth"]
    assert stamp["method"] == "psc" and stamp["rpps"] == valid_rpps(100) and stamp["acr"] == "eidas1"
    assert abs(stamp["at"] - time.time()) < 60  # the ID token's auth_time


def test_userinfo_answered_as_a_signed_jwt_is_read_too(hospital, settings, issuer, caplog):
    settings.PSC = psc_provider.settings_for(issuer, client_id="liaison-jwt")
    client = Client()
    with caplog.at_level(logging.DEBUG, logger="liaison.auth"):
        _, resp = psc_login(client, "medecin")
    assert resp.status_code == 302 and logged_in(client)
    assert any("userinfo answered as a signed JWT" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    ("login", "reason", "words"),
    [
        ("inconnu", "rpps_inconnu", f"Aucun compte Liaison n'est rattaché au RPPS {valid_rpps(777)}"),
        ("adeli", "sans_rpps", "ne porte pas de numéro RPPS (identifiant national « 0751234567 »)"),
        ("sans-identifiant", "sans_rpps", "ne porte pas de numéro RPPS"),
        ("sans-role", "sans_role", f"Le compte Liaison rattaché au RPPS {valid_rpps(778)} n'a aucun rôle"),
    ],
)
def test_a_professional_liaison_does_not_know_is_refused(hospital, psc, caplog, login, reason, words):
    user = User.objects.create_user("sans.role", password="x")  # an account with no group
    Practitioner.objects.create(
        establishment=hospital["est"],
        rpps=valid_rpps(778),
        family_name="SANSROLE",
        given_name="Rose",
        profession=Profession.MEDECIN,
        user=user,
    )
    client = Client()
    with caplog.at_level(logging.WARNING, logger="liaison.auth"):
        _, resp = psc_login(client, login)
    assert words in refusal(resp)
    assert not logged_in(client) and client.get("/").status_code == 302
    assert last_refusal().details["reason"] == reason and last_refusal().object_id == "psc"
    assert any(f"reason={reason}" in r.getMessage() for r in caplog.records)


def test_a_wrong_state_is_refused(hospital, psc):
    client = Client()
    callback = psc_provider.through_provider(start_login(client), "medecin")
    forged = callback.replace("state=", "state=x")
    body = refusal(client.get(forged))
    assert "paramètre state inconnu ou déjà utilisé" in body
    assert not logged_in(client) and last_refusal().details["reason"] == "state"


def test_a_code_obtained_for_another_login_attempt_is_refused_by_its_nonce(hospital, psc):
    victim, attacker = Client(), Client()
    victim_state = start_login(victim).split("state=")[1].split("&")[0]
    # The attacker completes his own login at the provider and slips his code into the victim's
    # callback (with the victim's state): the ID token carries the attacker's nonce.
    code = psc_provider.through_provider(start_login(attacker), "medecin").split("code=")[1].split("&")[0]
    body = refusal(victim.get(f"/connexion/psc/retour/?code={code}&state={victim_state}"))
    assert "nonce différent" in body
    assert not logged_in(victim) and last_refusal().details["reason"] == "nonce"


def test_a_replayed_callback_is_refused(hospital, psc):
    client = Client()
    callback, resp = psc_login(client, "medecin")
    assert resp.status_code == 302 and logged_in(client)
    again = client.get(callback)  # the same code and state, once more
    assert again.status_code == 403 and "déjà utilisé" in html.unescape(again.content.decode())
    thief = Client()  # the callback URL replayed from another computer
    body = refusal(thief.get(callback))
    assert "déjà utilisé" in body and not logged_in(thief)


def test_a_token_signed_with_a_key_the_provider_does_not_publish_is_refused(
    hospital, settings, issuer, tmp_path
):
    # A provider that signs with its own key while announcing the real provider's published keys.
    with psc_provider.start(tmp_path, PSC_TEST_PUBLISHED_JWKS=f"{issuer}/jwks") as forger:
        settings.PSC = psc_provider.settings_for(forger)
        client = Client()
        _, resp = psc_login(client, "medecin")
    assert "La signature du jeton d'identité n'est pas celle de Pro Santé Connect" in refusal(resp)
    assert not logged_in(client) and last_refusal().details["reason"] == "signature"


def test_an_expired_token_is_refused(hospital, settings, tmp_path):
    # The provider's clock is three hours late when it signs: the ID token (1 h) has expired.
    with psc_provider.start(tmp_path, PSC_TEST_TOKEN_CLOCK_SKEW="-10800") as late:
        settings.PSC = psc_provider.settings_for(late)
        client = Client()
        _, resp = psc_login(client, "medecin")
    assert "Le jeton d'identité de Pro Santé Connect a expiré" in refusal(resp)
    assert not logged_in(client) and last_refusal().details["reason"] == "expire"


# --- local passwords ---------------------------------------------------------------------------
def test_outside_the_demo_a_clinician_password_is_refused_and_administrators_keep_theirs(hospital, settings):
    settings.CLINICIAN_PASSWORDS = False  # production
    for role in ("medecin", "interne", "sage_femme", "infirmier"):
        client = Client()
        resp = client.post("/connexion/", {"username": f"u_{role}", "password": "x"})
        body = html.unescape(resp.content.decode())
        assert resp.status_code == 200 and "se connectent à Liaison avec Pro Santé Connect" in body
        assert not logged_in(client), role
    assert last_refusal().details["reason"] == "psc_required" and last_refusal().username == "u_infirmier"
    User.objects.create_superuser("root", password="x")
    for username in ("u_admin_etablissement", "root", "u_secretaire"):
        client = Client()
        resp = client.post("/connexion/", {"username": username, "password": "x"})
        assert resp.status_code == 302 and logged_in(client), username


def test_in_the_demo_clinicians_log_in_by_password(hospital, settings):
    settings.CLINICIAN_PASSWORDS = True
    client = Client()
    assert client.post("/connexion/", {"username": "u_medecin", "password": "x"}).status_code == 302
    assert client.session["liaison_auth"]["method"] == "password"


# --- a signature asks for a recent authentication -------------------------------------------------
@pytest.fixture
def signable(hospital):
    letter = lifecycle.open_letter(hospital["stay"])
    content = letter.parsed().model_copy(update=complete_content_updates())
    lifecycle.save_draft(letter.pk, content, letter.revision, hospital["users"]["medecin"])
    return Letter.objects.get(pk=letter.pk)


def make_old(client: Client, minutes: int = 16) -> None:
    session = client.session
    session["liaison_auth"] = {**session["liaison_auth"], "at": time.time() - minutes * 60}
    session.save()


def test_an_old_password_authentication_asks_for_the_password_before_signing(hospital, signable):
    client = Client()
    assert client.post("/connexion/", {"username": "u_medecin", "password": "x"}).status_code == 302
    sign = f"/lettres/{signable.pk}/signer/"
    page = html.unescape(client.get(sign).content.decode())
    assert "Signataire : <strong>Test MEDECIN</strong>, RPPS " + valid_rpps(100) in page
    assert "identifiant et mot de passe" in page and 'id="reauth"' not in page

    make_old(client)
    page = client.get(sign).content.decode()
    assert 'id="reauth"' in page and "moins de 15 minutes" in page and 'name="password"' in page
    resp = client.post(sign)
    assert resp.status_code == 302 and resp["Location"] == sign
    assert Letter.objects.get(pk=signable.pk).status == Letter.Status.DRAFT  # nothing signed
    assert "authentifiez-vous de nouveau" in html.unescape(client.get(sign).content.decode())

    client.post("/reauthentification/", {"password": "faux", "next": sign})
    assert client.post(sign)["Location"] == sign  # a wrong password renews nothing
    resp = client.post("/reauthentification/", {"password": "x", "next": sign})
    assert resp["Location"] == sign
    client.post(sign)
    assert Letter.objects.get(pk=signable.pk).status == Letter.Status.SIGNED


def test_an_old_psc_authentication_asks_psc_again_then_comes_back_to_the_sign_page(hospital, psc, signable):
    client = Client()
    psc_login(client, "medecin")
    sign = f"/lettres/{signable.pk}/signer/"
    assert "Pro Santé Connect (carte CPS ou e-CPS)" in client.get(sign).content.decode()
    make_old(client)
    page = html.unescape(client.get(sign).content.decode())
    assert "S'authentifier de nouveau avec Pro Santé Connect" in page and 'name="password"' not in page

    # Another professional at the provider: refused, still logged in, still too old to sign.
    authorization = start_login(client, f"/connexion/psc/?reauth=1&next={sign}")
    assert "prompt=login" in authorization and "max_age=900" in authorization
    resp = client.get(psc_provider.through_provider(authorization, "interne"))
    assert resp.status_code == 403 and "un autre professionnel" in html.unescape(resp.content.decode())
    assert logged_in(client) and client.post(sign)["Location"] == sign

    authorization = start_login(client, f"/connexion/psc/?reauth=1&next={sign}")
    resp = client.get(psc_provider.through_provider(authorization, "medecin"))
    assert resp.status_code == 302 and resp["Location"] == sign
    assert time.time() - client.session["liaison_auth"]["at"] < 60
    client.post(sign)
    assert Letter.objects.get(pk=signable.pk).status == Letter.Status.SIGNED


def test_the_api_refuses_to_sign_on_an_old_authentication(hospital, signable):
    client = Client()
    client.force_login(hospital["users"]["medecin"])
    make_old(client)
    resp = client.post(f"/api/letters/{signable.pk}/sign")
    assert resp.status_code == 403 and "authentifiez-vous de nouveau" in resp.json()["detail"]
    assert Letter.objects.get(pk=signable.pk).status == Letter.Status.DRAFT
    client.force_login(hospital["users"]["medecin"])  # a fresh login
    assert client.post(f"/api/letters/{signable.pk}/sign").status_code == 200


@pytest.mark.parametrize(
    "query",
    [
        "",  # nothing
        "code=abc",  # no state
        "state=" + "x" * 5000 + "&code=abc",  # a huge state
        "state=%00%FF&code=%C3%28",  # control and broken UTF-8 bytes
    ],
)
def test_a_malformed_callback_is_refused_in_french(hospital, psc, query):
    client = Client()
    start_login(client)  # a login attempt under way in this browser
    body = refusal(client.get(f"/connexion/psc/retour/?{query}"))
    assert "ne correspond à aucune connexion en cours" in body and not logged_in(client)


def test_a_login_cancelled_at_psc_is_refused_with_the_provider_s_reason(hospital, psc):
    client = Client()
    state = start_login(client).split("state=")[1].split("&")[0]
    body = refusal(client.get(f"/connexion/psc/retour/?error=access_denied&state={state}"))
    assert "Pro Santé Connect a refusé la connexion (access_denied)" in body and not logged_in(client)
    assert last_refusal().details["reason"] == "psc_erreur"


def test_psc_unreachable_is_said_in_french(hospital, settings):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings.PSC = psc_provider.settings_for(f"http://127.0.0.1:{port}")
    body = refusal(Client().get("/connexion/psc/"))
    assert "Pro Santé Connect ne répond pas : réessayez plus tard." in body


def test_serve_warns_when_no_health_professional_could_log_in(settings, issuer):
    from liaison.web.management.commands.serve import psc_notice

    settings.CLINICIAN_PASSWORDS = False
    settings.PSC = {**psc_provider.settings_for(issuer), "DISCOVERY_URL": ""}
    assert "Pro Santé Connect n'est pas configuré" in (psc_notice() or "")
    settings.PSC = psc_provider.settings_for(issuer)
    assert psc_notice() is None
    settings.PSC = {**settings.PSC, "CLIENT_SECRET": ""}
    settings.CLINICIAN_PASSWORDS = True  # the demo
    assert psc_notice() is None
