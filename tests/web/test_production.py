"""Production run: `liaison serve` refuses to start without its secret key or allowed hosts (in
French, exit status 1), starts a real gunicorn process otherwise (CSP, HSTS, secure cookies,
static files by WhiteNoise, no debug page), `liaison check --deploy --fail-level WARNING` passes in
that environment; and no page of any role holds inline script, so the CSP costs nothing."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.test import Client

from liaison.letters import lifecycle
from liaison.letters.permissions import Role

ROOT = Path(__file__).resolve().parents[2]
LIAISON = [sys.executable, "-m", "liaison.cli"]


def production_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIAISON_")}
    env.update(
        LIAISON_SECRET_KEY=secrets.token_urlsafe(50),
        LIAISON_ALLOWED_HOSTS="liaison.chu-exemple.fr,127.0.0.1",
        LIAISON_STATIC_ROOT=str(tmp_path / "static"),
        LIAISON_WEB_WORKERS="1",
    )
    env.update(extra)
    return {k: v for k, v in env.items() if v != ""}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([*LIAISON, *args], env=env, capture_output=True, text=True, timeout=120, cwd=ROOT)


@pytest.mark.parametrize(
    ("missing", "named"),
    [("LIAISON_SECRET_KEY", "LIAISON_SECRET_KEY"), ("LIAISON_ALLOWED_HOSTS", "LIAISON_ALLOWED_HOSTS")],
)
def test_serve_refuses_without_key_or_hosts(tmp_path, missing, named):
    done = run(["serve", "--addr", f"127.0.0.1:{free_port()}"], production_env(tmp_path, **{missing: ""}))
    assert done.returncode == 1
    assert "Démarrage refusé" in done.stderr and named in done.stderr
    assert "Traceback" not in done.stderr


def test_serve_refuses_debug_and_a_bad_address(tmp_path):
    done = run(["serve"], production_env(tmp_path, LIAISON_DEBUG="1"))
    assert done.returncode == 1 and "mode débogage est interdit" in done.stderr
    done = run(["serve", "--addr", "pas-une-adresse"], production_env(tmp_path))
    assert done.returncode == 1 and "Adresse d'écoute invalide" in done.stderr


def test_check_deploy_passes_in_production_and_not_without_key(tmp_path):
    check = ["check", "--deploy", "--fail-level", "WARNING"]
    done = run(check, production_env(tmp_path))
    assert done.returncode == 0, done.stderr
    done = run(check, production_env(tmp_path, LIAISON_SECRET_KEY=""))
    assert done.returncode != 0 and "security.W0" in done.stderr


def get(url: str, **headers: str) -> tuple[int, dict[str, str], str]:
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    request = urllib.request.Request(url, headers={"Host": "liaison.chu-exemple.fr", **headers})
    try:
        with opener.open(request, timeout=10) as r:
            return r.status, dict(r.headers), r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode("utf-8", "replace")


def test_serve_starts_gunicorn_with_the_security_headers(tmp_path):
    port = free_port()
    proc = subprocess.Popen(
        [*LIAISON, "serve", "--addr", f"127.0.0.1:{port}"],
        env=production_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=ROOT,
    )
    base = f"http://127.0.0.1:{port}"
    https = {"X-Forwarded-Proto": "https"}  # what the reverse proxy terminating TLS sends
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                status, headers, body = get(f"{base}/connexion/", **https)
                break
            except OSError:
                assert proc.poll() is None, proc.stdout.read().decode()
                assert time.monotonic() < deadline, "gunicorn n'a pas démarré"
                time.sleep(0.3)
        ps = subprocess.run(["ps", "-o", "args=", "--ppid", str(proc.pid)], capture_output=True, text=True)
        own = subprocess.run(["ps", "-o", "args=", "-p", str(proc.pid)], capture_output=True, text=True)
        assert "gunicorn" in own.stdout and "gunicorn" in ps.stdout  # the arbiter and its worker

        assert status == 200
        csp = headers["Content-Security-Policy"]
        script_src = next(d for d in csp.split(";") if d.strip().startswith("script-src "))
        assert "'self'" in script_src and "unsafe" not in script_src
        assert "max-age=31536000" in headers["Strict-Transport-Security"]
        assert "Secure" in headers["Set-Cookie"] and "csrftoken" in headers["Set-Cookie"]
        assert "<script>" not in body

        status, headers, _ = get(f"{base}/", **https)
        assert status == 302 and "/connexion/" in headers["Location"]
        assert "Content-Security-Policy" in headers

        status, headers, body = get(f"{base}/page-qui-n-existe-pas/", **https)
        assert status == 404
        assert "Content-Security-Policy" in headers
        assert "Traceback" not in body and "URLconf" not in body and "DEBUG = True" not in body

        status, headers, body = get(f"{base}/static/liaison/liaison.js", **https)
        assert status == 200 and "use strict" in body  # WhiteNoise, from the collected files
        assert (tmp_path / "static" / "liaison" / "liaison.js").exists()

        status, headers, _ = get(f"{base}/connexion/")  # plain HTTP: sent to HTTPS
        assert status == 301 and headers["Location"].startswith("https://liaison.chu-exemple.fr/")
    finally:
        proc.terminate()
        proc.wait(timeout=20)


# --- No inline script on any page of any role -----------------------------------------------------
DATA_BLOCKS = {"application/json", "application/ld+json", "text/template"}
SKIP = (".pdf", ".xml", ".csv", ".xlsx", ".zip", "/deconnexion/", "/admin/logout/")


class InlineScripts(HTMLParser):
    """What a strict script-src would block: inline <script>, on* handlers, javascript: URLs, hx-on."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "script" and "src" not in a and a.get("type", "").lower() not in DATA_BLOCKS:
            self.found.append(f"<script> en ligne ({self.getpos()})")
        for name, value in a.items():
            if name.startswith("on") or name.startswith("hx-on"):
                self.found.append(f"<{tag} {name}=…>")
            url = name in ("href", "src", "action", "formaction")
            if url and value.strip().lower().startswith("javascript:"):
                self.found.append(f"<{tag} {name}=javascript:…>")
            if name in ("hx-vals", "hx-vars") and value.strip().startswith("js:"):
                self.found.append(f"<{tag} {name}=js:…>")
        if tag == "a" and a.get("href", "").startswith("/"):
            self.links.append(a["href"].split("#")[0])


def test_no_page_of_any_role_holds_inline_script(hospital):
    letter = lifecycle.open_letter(hospital["stay"])
    seeds = ["/", "/sejours/", f"/lettres/{letter.pk}/", f"/lettres/{letter.pk}/signer/", "/connexion/"]
    seeds += ["/indicateurs/", "/indicateurs/qls/", "/indicateurs/ifaq/", "/campagne/", "/admin/"]
    seeds += ["/admin/letters/unit/", "/admin/auth/user/", "/envois/echecs/", "/sante/", "/acces-dossier/"]
    checked: dict[str, int] = {}
    for role in [*Role, None]:
        client = Client()
        if role:
            client.force_login(hospital["users"][role.value])
        todo, seen, pages = list(seeds), set(), 0
        while todo and len(seen) < 40:
            path = todo.pop(0)
            if path in seen or path.startswith("/static/") or path.endswith(SKIP):
                continue
            seen.add(path)
            response = client.get(path)
            if response.status_code != 200 or "text/html" not in response.get("Content-Type", ""):
                continue
            assert "Content-Security-Policy" in response, path
            parser = InlineScripts()
            parser.feed(response.content.decode())
            assert not parser.found, f"{role} {path} : {parser.found}"
            pages += 1
            todo += [link for link in parser.links if link not in seen]
        checked[str(role)] = pages
    assert all(n >= 1 for n in checked.values()), checked
    assert sum(checked.values()) >= 30, checked
