"""A real OpenID Connect provider configured like Pro Santé Connect, on loopback, for the tests.

`start()` runs panva's oidc-provider (tests/oidc/provider.mjs, installed by `npm ci --prefix
tests/oidc`) with Node; `through_provider()` plays the professional at the provider's pages over
HTTP (login page, identifier typed) until the provider sends the browser back to Liaison, and
returns that callback URL (path and query) for Django's test client.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import requests

from tests.conftest import valid_rpps

ROOT = Path(__file__).resolve().parents[2]
PROVIDER_DIR = ROOT / "tests" / "oidc"
CALLBACK = "http://testserver/connexion/psc/retour/"
SECRET = "secret-de-test-psc"

# The hospital fixture's RPPS: u_medecin is valid_rpps(100), u_interne valid_rpps(101).
ACCOUNTS = {
    "medecin": {
        "SubjectNameID": "8" + valid_rpps(100),
        "preferred_username": "8" + valid_rpps(100),
        "given_name": "Test",
        "family_name": "MEDECIN",
        "SubjectRefPro": {"exercices": [{"codeProfession": "10", "nomDexercice": "MEDECIN"}]},
    },
    "interne": {"SubjectNameID": "8" + valid_rpps(101), "given_name": "Test", "family_name": "INTERNE"},
    "inconnu": {"SubjectNameID": "8" + valid_rpps(777), "given_name": "Paul", "family_name": "INCONNU"},
    "sans-role": {"SubjectNameID": "8" + valid_rpps(778), "given_name": "Rose", "family_name": "SANSROLE"},
    "adeli": {"SubjectNameID": "0751234567", "given_name": "Luc", "family_name": "ADELI"},
    "sans-identifiant": {"given_name": "Eve", "family_name": "SANSID"},
}
CLIENTS = [
    {
        "client_id": "liaison",
        "client_secret": SECRET,
        "redirect_uris": [CALLBACK],
        "response_types": ["code"],
        "grant_types": ["authorization_code"],
    },
    {  # userinfo answered as a signed JWT, as PSC may
        "client_id": "liaison-jwt",
        "client_secret": SECRET,
        "redirect_uris": [CALLBACK],
        "response_types": ["code"],
        "grant_types": ["authorization_code"],
        "userinfo_signed_response_alg": "RS256",
    },
]


@contextmanager
def start(tmp_path: Path, callbacks: tuple[str, ...] = (), **env: str) -> Iterator[str]:
    """The provider's issuer URL while it runs (stopped afterwards); `callbacks`: more redirect URIs
    (a live server's) beside the test client's."""
    assert (PROVIDER_DIR / "node_modules" / "oidc-provider").exists(), (
        f"oidc-provider absent : lancez `npm ci --prefix {PROVIDER_DIR}`"
    )
    config = tmp_path / f"psc-{len(list(tmp_path.glob('psc-*.json')))}.json"
    clients = [{**c, "redirect_uris": [CALLBACK, *callbacks]} for c in CLIENTS]
    config.write_text(json.dumps({"clients": clients, "accounts": ACCOUNTS}), encoding="utf-8")
    proc = subprocess.Popen(
        ["node", str(PROVIDER_DIR / "provider.mjs")],
        cwd=PROVIDER_DIR,
        env={**os.environ, "PSC_TEST_CONFIG": str(config), **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("READY "), f"the OIDC provider did not start: {line!r}"
        yield line.split()[1]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()


def settings_for(issuer: str, client_id: str = "liaison") -> dict:
    return {
        "CLIENT_ID": client_id,
        "CLIENT_SECRET": SECRET,
        "DISCOVERY_URL": f"{issuer}/.well-known/openid-configuration",
        "SCOPE": "openid scope_all",
        "ACR_VALUES": "eidas1",
        "TIMEOUT": 10,
        "LEEWAY": 60,
    }


def through_provider(authorization_url: str, login: str, browser: requests.Session | None = None) -> str:
    """Follow the provider's pages as the professional's browser, typing `login` on the login page;
    the callback (path and query) the provider sends the browser back to."""
    browser = browser or requests.Session()
    url = authorization_url
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        resp = browser.get(url, allow_redirects=False, timeout=10)
        if resp.status_code == 200 and 'name="login"' in resp.text:
            resp = browser.post(url, data={"login": login}, allow_redirects=False, timeout=10)
        assert resp.status_code in (302, 303), f"provider answered {resp.status_code}: {resp.text[:300]}"
        url = urljoin(url, resp.headers["Location"])
        if url.startswith(CALLBACK):
            parts = urlsplit(url)
            return f"{parts.path}?{parts.query}"
    raise AssertionError("the provider never sent the browser back")
