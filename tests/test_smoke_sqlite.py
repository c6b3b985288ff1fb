"""Smoke test of the demo on SQLite, as `make run` does it: migrate, seed, serve, log in."""

from __future__ import annotations

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


def test_demo_on_sqlite(tmp_path: Path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}"}
    port, mllp = _free_port(), _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "liaison.cli",
            "demo",
            "--addr",
            f"127.0.0.1:{port}",
            "--stays",
            "40",
            "--mllp-port",
            str(mllp),
        ],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
        deadline = time.monotonic() + 90
        while True:
            try:
                login = opener.open(f"http://127.0.0.1:{port}/connexion/", timeout=5).read().decode()
                break
            except OSError:
                assert proc.poll() is None, proc.stdout.read()
                assert time.monotonic() < deadline, "the demo did not start in 90 s"
                time.sleep(0.5)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login).group(1)
        data = urllib.parse.urlencode(
            {"username": "sec.durand", "password": "liaison-demo", "csrfmiddlewaretoken": token}
        ).encode()
        page = opener.open(f"http://127.0.0.1:{port}/connexion/", data=data, timeout=10).read().decode()
        assert "Sorties du jour" in page  # the secretary lands on today's discharges
        stays = opener.open(f"http://127.0.0.1:{port}/sejours/", timeout=10).read().decode()
        assert stays.count("<tr") > 10  # the seeded stays are listed
    finally:
        proc.terminate()
        out = proc.communicate(timeout=10)[0]
    assert "Liaison est prêt" in out and "dr.martin" in out
