"""The demo on SQLite, as `make run` starts it: a physician signs a letter in the web app and,
within seconds, it is in the DMP sandbox's patient view and in the médecin traitant's mailbox,
with the acknowledgements on the letter; an ADT message reaches the MLLP listener."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Browser:
    """A cookie-keeping HTTP client that logs in like a user and calls the API with the CSRF token."""

    def __init__(self, base: str):
        self.base = base
        self.jar = CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def get(self, path: str) -> str:
        return self.opener.open(self.base + path, timeout=20).read().decode()

    def login(self, username: str) -> str:
        page = self.get("/connexion/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        data = urllib.parse.urlencode(
            {"username": username, "password": "liaison-demo", "csrfmiddlewaretoken": token}
        ).encode()
        return self.opener.open(self.base + "/connexion/", data=data, timeout=20).read().decode()

    def api(self, method: str, path: str, payload: dict | None = None) -> tuple[int, dict | list]:
        csrf = next(c.value for c in self.jar if c.name == "csrftoken")
        req = urllib.request.Request(
            self.base + "/api" + path,
            method=method,
            data=json.dumps(payload or {}).encode(),
            headers={"Content-Type": "application/json", "X-CSRFToken": csrf, "Referer": self.base + "/"},
        )
        try:
            with self.opener.open(req, timeout=60) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read() or b"{}")


def _wait(what: str, check, seconds: float = 60):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"{what}: not within {seconds} s"
        time.sleep(0.5)


def _mllp_a01(port: int) -> bytes:
    msg = (
        "MSH|^~\\&|GAM|CHTEST|LIAISON|CHTEST|20261123101500||ADT^A01^ADT_A01|SMOKE-1|P|2.5\r"
        "EVN||20261123101500\r"
        "PID|||SMOKE001^^^CHTEST^PI||SMOKE^Test^^^^^L||19700101|F\r"
        "PV1||I|CARDIO||||||||||||||||SMOKE-V1|||||||||||||||||||||||||20261123101500\r"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=20) as s:
        s.sendall(b"\x0b" + msg.encode() + b"\x1c\x0d")
        data = b""
        while not data.endswith(b"\x1c\x0d"):
            data += s.recv(4096)
    return data


def test_make_run_demo_end_to_end(tmp_path: Path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}"}
    for key in list(env):
        if key.startswith(("LIAISON_DMP", "LIAISON_MSS")):
            del env[key]  # the demo sets its own loopback peers
    port, mllp, dmp, mail = (_free_port() for _ in range(4))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "liaison.cli",
            "demo",
            "--addr",
            f"127.0.0.1:{port}",
            "--stays",
            "150",
            "--mllp-port",
            str(mllp),
            "--dmp-port",
            str(dmp),
            "--mail-port",
            str(mail),
        ],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    web = Browser(f"http://127.0.0.1:{port}")
    try:

        def up() -> bool:
            assert proc.poll() is None, proc.stdout.read()
            try:
                web.get("/connexion/")
                return True
            except OSError:
                return False

        _wait("the demo starts", up, 300)  # seeding sends the history to the sandboxes
        assert "Sorties du jour" in web.login("dr.martin")
        assert web.get("/sejours/").count("<tr") > 5  # the seeded stays are listed

        # a complete draft of a patient with a qualified INS, signed through the API
        _, stays = web.api("GET", "/stays")
        candidates = []
        for s in stays:
            if s["letter_state"] == "Brouillon" and s["discharge_at"]:
                _, letter = web.api("GET", f"/letters/{s['letter_id']}")
                c = letter["content"]
                if (
                    c["patient"]["identity_status"] == "qualifiee"
                    and c["medecin_traitant"]
                    and c["medecin_traitant"]["mssante"]
                ):
                    candidates.append(letter)
        assert candidates, "the demo has drafts ready to sign"
        signed = None
        for letter in candidates:
            status, body = web.api("POST", f"/letters/{letter['id']}/sign")
            if status == 200:
                signed = body
                break
        assert signed, body
        ins = signed["content"]["patient"]["ins_matricule"]
        gp = signed["content"]["medecin_traitant"]["mssante"].lower()

        def in_dmp() -> list:
            try:  # the sandbox may still be loading the ANS validator
                with urllib.request.urlopen(f"http://127.0.0.1:{dmp}/documents?ins={ins}", timeout=10) as r:
                    docs = json.loads(r.read())
            except OSError:
                return []
            return [d for d in docs if d["uniqueId"].startswith(signed["document_oid"])]

        _wait("the letter reaches the DMP sandbox", in_dmp)
        patient_view = (
            urllib.request.urlopen(f"http://127.0.0.1:{dmp}/patient/{ins}", timeout=10).read().decode()
        )
        assert "lettre" in patient_view.lower()

        def in_mailbox() -> bool:
            try:  # 404 until the first mail creates the box
                return "IHE_XDM.ZIP" in web.get(f"/messagerie/{urllib.parse.quote(gp)}/")
            except urllib.error.HTTPError:
                return False

        _wait("the letter reaches the médecin traitant's mailbox", in_mailbox)

        def acknowledged() -> str | None:
            page = web.get(f"/lettres/{signed['id']}/")
            return page if "Reçu" in page else None

        letter_page = _wait("the acknowledgement shows on the letter", acknowledged)
        assert "DMP" in letter_page

        ack = _mllp_a01(mllp)  # the listener answers; an unknown unit or establishment is a NACK
        assert b"MSA|" in ack
    finally:
        proc.terminate()
        out = proc.communicate(timeout=30)[0]
    assert "Liaison est prêt" in out and "dr.martin" in out
