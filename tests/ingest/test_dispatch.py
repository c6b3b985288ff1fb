"""`liaison mllp --workers N`: connections handed to the least busy worker process."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from liaison.ingest import dispatch
from liaison.ingest.models import InboundMessage
from liaison.letters.models import Stay
from tests.ingest.messages import send_stays

ROOT = Path(__file__).resolve().parents[2]


def _worker_pair() -> tuple[dispatch._Worker, socket.socket]:
    parent_end, child_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    return dispatch._Worker(parent_end, process=None), child_end  # type: ignore[arg-type]


def _received_connection(child_end: socket.socket) -> bool:
    child_end.settimeout(0.5)
    try:
        data, fds, _, _ = socket.recv_fds(child_end, 1, 1)
    except TimeoutError:
        return False
    for fd in fds:
        os.close(fd)
    return data == b"c" and len(fds) == 1


def test_each_connection_goes_to_the_least_busy_worker():
    pool, ends = zip(*(_worker_pair() for _ in range(2)), strict=True)
    pool = list(pool)
    with socket.create_server(("127.0.0.1", 0)) as listener:
        clients = []
        for _ in range(4):
            clients.append(socket.create_connection(listener.getsockname()))
            dispatch._dispatch(listener, pool)
        assert [w.open for w in pool] == [2, 2]
        assert [_received_connection(e) for e in ends for _ in range(2)] == [True] * 4
        pool[1].open -= 2  # worker 1's two connections ended
        clients.append(socket.create_connection(listener.getsockname()))
        dispatch._dispatch(listener, pool)
        assert [w.open for w in pool] == [2, 1]
        assert _received_connection(ends[1]) and not _received_connection(ends[0])
        for c in clients:
            c.close()
    for w, e in zip(pool, ends, strict=True):
        w.channel.close()
        e.close()


def test_connections_over_the_cap_are_closed_by_the_parent():
    pool, ends = zip(*(_worker_pair() for _ in range(2)), strict=True)
    pool = list(pool)
    with socket.create_server(("127.0.0.1", 0)) as listener:
        clients = [socket.create_connection(listener.getsockname()) for _ in range(3)]
        for _ in range(3):
            dispatch._dispatch(listener, pool, cap=2)
        assert [w.open for w in pool] == [1, 1]  # the third was not handed to a worker
        clients[2].settimeout(5)
        assert clients[2].recv(1) == b""  # closed on arrival
        for c in clients:
            c.close()
    for w, e in zip(pool, ends, strict=True):
        w.channel.close()
        e.close()


def _children(pid: int) -> list[int]:
    """Live child processes of `pid`, read from /proc."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return sorted(found)


def _database_url() -> str:
    s = connection.settings_dict
    return f"postgres://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


@pytest.mark.django_db(transaction=True)
def test_two_worker_processes_apply_four_connections(hospital):
    if connection.vendor != "postgresql":
        pytest.skip("le test multi-processus lit la base PostgreSQL de test")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "DATABASE_URL": _database_url()}
    proc = subprocess.Popen(
        [sys.executable, "-m", "liaison.cli", "mllp", "--port", str(port), "--workers", "2"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read()
                time.sleep(0.2)
        assert send_stays(("127.0.0.1", port), connections=4, stays=3, tag="W") == []
        stays = Stay.objects.filter(visit_number__startswith="NW-")
        assert stays.count() == 12
        assert all(s.discharge_at is not None and s.unit.code == "MATER" for s in stays)
        assert InboundMessage.objects.filter(control_id__startswith="W-", outcome="accepted").count() == 36

        # A worker killed: the parent replaces it, and new connections are served as before.
        workers = _children(proc.pid)
        assert len(workers) == 2
        os.kill(workers[0], signal.SIGKILL)
        deadline = time.monotonic() + 20
        while set(_children(proc.pid)) in (set(workers), set(workers[1:])):
            assert time.monotonic() < deadline, "le processus arrêté n'a pas été remplacé"
            time.sleep(0.1)
        assert len(_children(proc.pid)) == 2
        assert send_stays(("127.0.0.1", port), connections=2, stays=1, tag="K") == []
        assert Stay.objects.filter(visit_number__startswith="NK-", discharge_at__isnull=False).count() == 2
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "(2 processus)" in out and "Écoute MLLP arrêtée." in out


def test_several_workers_need_postgresql(tmp_path: Path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}"}
    done = subprocess.run(
        [sys.executable, "-m", "liaison.cli", "mllp", "--port", "0", "--workers", "2"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "Plusieurs processus d'écoute exigent PostgreSQL" in done.stderr
