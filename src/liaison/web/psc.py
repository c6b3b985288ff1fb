"""Clinician login with Pro Santé Connect (PSC), the national OpenID Connect provider of health
professionals (carte CPS, application e-CPS), through Authlib's Django client.

`psc_login` sends the browser to PSC (authorization code flow, scopes `openid scope_all`,
`acr_values=eidas1`, a `state` and a `nonce` kept in the session); `psc_callback` takes the code
back: Authlib checks the `state` (unknown or already used: refused), exchanges the code, checks the
ID token (signature against PSC's published keys, issuer, audience, expiry, nonce); the userinfo
answer (JSON, or a JWT checked the same way) gives `SubjectNameID`, the national identifier: « 8 »
followed by the RPPS for a professional of the RPPS. The professional is the Liaison account tied
to the practitioner with that RPPS. Every refusal is a French page (403), a log line and an audit
row, and nobody is logged in.

With `reauth=1` (the sign page, an authentication too old to sign) the request adds `prompt=login`
and `max_age`: the same professional must come back, freshly authenticated.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import requests
from authlib.integrations.base_client import MismatchingStateError, OAuthError
from authlib.integrations.django_client import OAuth
from django.conf import settings
from django.contrib.auth import login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from joserfc import jwt
from joserfc.errors import (
    BadSignatureError,
    ExpiredTokenError,
    InvalidClaimError,
    InvalidKeyIdError,
    JoseError,
    MissingClaimError,
)
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

from liaison.core import identifiers
from liaison.letters.models import Practitioner
from liaison.letters.permissions import role_of
from liaison.web.authentication import (
    PSC,
    auth_info,
    max_age_seconds,
    psc_configured,
    safe_next,
    stamp,
    trace_refusal,
)

log = logging.getLogger("liaison.auth")

RPPS_PREFIX = "8"  # idNat_PS: « 8 » + RPPS (ANS); « 0 » + ADELI, « 3 » + FINESS/… are not RPPS
MAX_CLAIM = 200  # identifiers and names read from PSC are bounded before use
UNREACHABLE = "Pro Santé Connect ne répond pas : réessayez plus tard."

_clients: dict[tuple, Any] = {}


class Refused(Exception):
    def __init__(self, reason: str, message: str, who: str = "") -> None:
        super().__init__(message)
        self.reason, self.message, self.who = reason, message, who


def client() -> Any:
    """The Authlib client for the configured PSC (its discovery document loaded once)."""
    conf = settings.PSC
    key = (conf["CLIENT_ID"], conf["CLIENT_SECRET"], conf["DISCOVERY_URL"], conf["SCOPE"], conf["TIMEOUT"])
    if key not in _clients:
        oauth = OAuth()
        _clients[key] = oauth.register(
            "psc",
            client_id=conf["CLIENT_ID"],
            client_secret=conf["CLIENT_SECRET"],
            server_metadata_url=conf["DISCOVERY_URL"],
            client_kwargs={"scope": conf["SCOPE"], "default_timeout": conf["TIMEOUT"]},
        )
    return _clients[key]


def rpps_from(subject_name_id: Any) -> str:
    """The RPPS in PSC's national identifier, or "" when it holds none (ADELI, structure…)."""
    if not isinstance(subject_name_id, str) or len(subject_name_id) > MAX_CLAIM:
        return ""
    if not subject_name_id.startswith(RPPS_PREFIX):
        return ""
    rpps = subject_name_id[len(RPPS_PREFIX) :]
    try:
        identifiers.validate_rpps(rpps)
    except identifiers.IdentifierError:
        return ""
    return rpps


def professional(userinfo: dict) -> Any:
    """The Liaison account of the professional PSC vouches for; `Refused` says why not."""
    raw = userinfo.get("SubjectNameID")
    shown = raw[:MAX_CLAIM] if isinstance(raw, str) else ""
    rpps = rpps_from(raw)
    if not rpps:
        raise Refused(
            "sans_rpps",
            "Votre identité Pro Santé Connect ne porte pas de numéro RPPS"
            + (f" (identifiant national « {shown} »)" if shown else "")
            + ". Liaison reconnaît les professionnels par leur RPPS : adressez-vous à l'administrateur "
            "de l'établissement.",
            shown,
        )
    practitioner = Practitioner.objects.select_related("user").filter(rpps=rpps).first()
    user = practitioner.user if practitioner is not None else None
    if practitioner is None or user is None or not user.is_active:
        raise Refused(
            "rpps_inconnu",
            f"Aucun compte Liaison n'est rattaché au RPPS {rpps}. Pro Santé Connect vous a bien "
            "authentifié, mais vous n'êtes pas enregistré comme professionnel de cet établissement : "
            "adressez-vous à l'administrateur de l'établissement.",
            rpps,
        )
    if role_of(user) is None:
        raise Refused(
            "sans_role",
            f"Le compte Liaison rattaché au RPPS {rpps} n'a aucun rôle dans cet établissement : "
            "adressez-vous à l'administrateur de l'établissement.",
            rpps,
        )
    return user


def _decode_jwt(c: Any, text: str) -> dict:
    """A signed userinfo JWT: signature against PSC's keys, then issuer, audience and expiry."""
    metadata = c.load_server_metadata()
    registry = JWSRegistry(algorithms=metadata.get("id_token_signing_alg_values_supported"))
    try:
        token = jwt.decode(text, KeySet.import_key_set(c.fetch_jwk_set()), registry=registry)
    except InvalidKeyIdError:
        token = jwt.decode(text, KeySet.import_key_set(c.fetch_jwk_set(force=True)), registry=registry)
    claims = jwt.JWTClaimsRegistry(
        leeway=settings.PSC["LEEWAY"], iss={"value": metadata.get("issuer")}, aud={"value": c.client_id}
    )
    claims.validate(token.claims)
    return dict(token.claims)


def userinfo(c: Any, token: dict) -> dict:
    """PSC's userinfo answer, JSON or a signed JWT (checked against the published keys)."""
    resp = c.get(c.load_server_metadata()["userinfo_endpoint"], token=token)
    resp.raise_for_status()
    if len(resp.content) > 256 * 1024:
        raise Refused("userinfo", "La réponse de Pro Santé Connect est trop volumineuse.")
    if resp.headers.get("Content-Type", "").split(";")[0].strip() == "application/jwt":
        log.debug("PSC userinfo answered as a signed JWT")
        return _decode_jwt(c, resp.text.strip())
    data = resp.json()
    if not isinstance(data, dict):
        raise Refused("userinfo", "La réponse de Pro Santé Connect (userinfo) est illisible.")
    return data


def psc_login(request: HttpRequest) -> HttpResponse:
    """To PSC. `next`: where to go back; `reauth=1`: authenticate again before signing."""
    if not psc_configured():
        raise Http404
    reauth = request.GET.get("reauth") == "1" and request.user.is_authenticated
    params: dict[str, Any] = {"acr_values": settings.PSC["ACR_VALUES"]}
    if reauth:
        params.update(prompt="login", max_age=max_age_seconds())
    c = client()
    redirect_uri = request.build_absolute_uri(reverse("psc_callback"))
    try:
        rv = c.create_authorization_url(redirect_uri, **params)
    except (requests.RequestException, ValueError, KeyError, RuntimeError) as exc:
        log.error("PSC discovery failed: %s", exc)
        return _refuse(request, Refused("injoignable", UNREACHABLE))
    c.save_authorize_data(
        request,
        redirect_uri=redirect_uri,
        next=safe_next(request, request.GET.get("next", "")),
        reauth_user=request.user.pk if reauth else None,
        **rv,
    )
    return redirect(rv["url"])


def psc_callback(request: HttpRequest) -> HttpResponse:
    if not psc_configured():
        raise Http404
    c = client()
    state = request.GET.get("state", "")
    pending = c.framework.get_state_data(request.session, state) or {}
    try:
        token = c.authorize_access_token(
            request,
            leeway=settings.PSC["LEEWAY"],
            claims_options={
                "iss": {"essential": True, "values": [c.load_server_metadata().get("issuer")]},
                "acr": {"values": settings.PSC["ACR_VALUES"].split()},
            },
        )
        identity = token.get("userinfo")
        if not identity:
            raise Refused("jeton", "Pro Santé Connect n'a pas renvoyé de jeton d'identité.")
        info = userinfo(c, token)
        if info.get("sub") != identity.get("sub"):
            raise Refused("sub", "L'identité de Pro Santé Connect ne correspond pas au jeton d'identité.")
        user = professional(info)
    except Refused as exc:
        return _refuse(request, exc)
    except MismatchingStateError:
        return _refuse(
            request,
            Refused(
                "state",
                "Cette réponse de Pro Santé Connect ne correspond à aucune connexion en cours (paramètre "
                "state inconnu ou déjà utilisé) : recommencez la connexion.",
            ),
        )
    except OAuthError as exc:
        return _refuse(
            request,
            Refused("psc_erreur", f"Pro Santé Connect a refusé la connexion ({str(exc.error)[:80]})."),
        )
    except ExpiredTokenError:
        return _refuse(request, Refused("expire", "Le jeton d'identité de Pro Santé Connect a expiré."))
    except (BadSignatureError, InvalidKeyIdError):
        return _refuse(
            request,
            Refused(
                "signature",
                "La signature du jeton d'identité n'est pas celle de Pro Santé Connect : jeton refusé.",
            ),
        )
    except (InvalidClaimError, MissingClaimError) as exc:
        claim = str(getattr(exc, "claim", "") or exc)[:40]
        reason = "nonce" if "nonce" in claim else "jeton"
        text = (
            "Le jeton d'identité ne répond pas à cette demande de connexion (nonce différent) : refusé."
            if reason == "nonce"
            else f"Le jeton d'identité de Pro Santé Connect est invalide (« {claim} ») : refusé."
        )
        return _refuse(request, Refused(reason, text))
    except (JoseError, ValueError) as exc:
        log.warning("PSC token unreadable: %s", exc)
        return _refuse(request, Refused("jeton", "Le jeton de Pro Santé Connect est illisible : refusé."))
    except requests.RequestException as exc:
        log.error("PSC unreachable: %s", exc)
        return _refuse(request, Refused("injoignable", UNREACHABLE))

    auth_time = identity.get("auth_time")
    at = float(auth_time) if isinstance(auth_time, (int, float)) else time.time()
    extra = {"rpps": user.practitioner.rpps or "", "acr": str(identity.get("acr", ""))[:40]}
    reauth_user = pending.get("reauth_user")
    if reauth_user is not None:
        if not request.user.is_authenticated or request.user.pk != user.pk or reauth_user != user.pk:
            return _refuse(
                request,
                Refused(
                    "autre_professionnel",
                    "Pro Santé Connect a authentifié un autre professionnel que celui connecté : "
                    "authentification non renouvelée.",
                    extra["rpps"],
                ),
                keep_session=True,
            )
        if time.time() - at > max_age_seconds() + settings.PSC["LEEWAY"]:
            return _refuse(
                request,
                Refused("auth_ancienne", "L'authentification n'a pas été renouvelée : réessayez."),
                keep_session=True,
            )
        stamp(request, PSC, at=at, **extra)
        log.info("re-authenticated with PSC: user=%s rpps=%s", user.get_username(), extra["rpps"])
        return redirect(pending.get("next") or settings.LOGIN_REDIRECT_URL)

    request.liaison_auth_method = PSC  # type: ignore[attr-defined]
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    stamp(request, PSC, at=at, **extra)
    log.info("logged in with PSC: user=%s rpps=%s", user.get_username(), extra["rpps"])
    return redirect(pending.get("next") or settings.LOGIN_REDIRECT_URL)


def _refuse(request: HttpRequest, refused: Refused, keep_session: bool = False) -> HttpResponse:
    log.warning("PSC login refused: reason=%s who=%s: %s", refused.reason, refused.who, refused.message)
    trace_refusal(refused.who or "inconnu", "psc", refused.reason, refused.message)
    reauth = keep_session and request.user.is_authenticated and auth_info(request) is not None
    return render(
        request,
        "registration/psc_refused.html",
        {"message": refused.message, "reason": refused.reason, "reauth": reauth},
        status=403,
    )
