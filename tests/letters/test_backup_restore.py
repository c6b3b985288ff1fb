"""Backup and restore as the README says: `pg_dump -Fc` of a database holding signed letters and
a pending outbox, `pg_restore` into a new database; there every signed letter still matches its
sha-256 (`liaison verify-documents`, which also catches a changed byte) and the outbox resumes
where it was: `liaison worker --once` on the restored database files the pending letter in the
DMP sandbox, and only that one."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import psycopg
import pytest
from django.db import connection

from liaison.delivery import worker
from liaison.delivery.models import Delivery
from liaison.letters.integrity import verify
from liaison.letters.models import Letter
from tests.delivery.test_dmp import _correct, _sign, _stays, dmp_channel, sandbox  # noqa: F401 (fixtures)

TABLES = [
    "letters_letter",
    "letters_letterdocument",
    "letters_auditevent",
    "delivery_delivery",
    "delivery_deliveryevent",
    "letters_patient",
    "auth_user",
]


def _pg(name: str) -> dict[str, str]:
    db = connection.settings_dict
    return {
        "host": db["HOST"] or "127.0.0.1",
        "port": str(db["PORT"] or 5432),
        "user": db["USER"],
        "dbname": name,
    }


def _run(args: list[str], **kw) -> subprocess.CompletedProcess:
    out = subprocess.run(args, capture_output=True, text=True, timeout=300, **kw)
    return out


def _liaison(db: str, *args: str, **env: str) -> subprocess.CompletedProcess:
    p = _pg(db)
    url = f"postgres://{p['user']}@{p['host']}:{p['port']}/{db}"
    full = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "liaison.web.settings", **env}
    return _run([sys.executable, "-m", "liaison.cli", *args], env=full)


def _counts(db: str) -> dict[str, int]:
    with psycopg.connect(**_pg(db)) as conn:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}


@pytest.fixture
def restored_name() -> Iterator[str]:
    name = f"{connection.settings_dict['NAME']}_restauree"[:63]
    p = _pg(name)
    conn_args = ["-h", p["host"], "-p", p["port"], "-U", p["user"]]
    _run(["dropdb", *conn_args, "--if-exists", name], check=True)
    yield name
    _run(["dropdb", *conn_args, "--if-exists", "--force", name], check=True)


@pytest.mark.django_db(transaction=True)
def test_dump_restore_keeps_every_signature_and_the_outbox_resumes(
    hospital,
    dmp_channel,  # noqa: F811
    restored_name,
    tmp_path,
):
    box, url = dmp_channel
    box.patients.ins.add(hospital["patient"].ins_matricule)
    first, second, third = _stays(hospital, 3)
    sent = _sign(hospital, first)
    corrected = _correct(hospital, _sign(hospital, second))  # a superseded version and its correction
    Delivery.objects.exclude(channel="dmp").delete()  # MSSanté is not configured here
    assert worker.run_once("w1") == 3
    assert set(Delivery.objects.values_list("state", flat=True)) == {"delivered"}
    pending = _sign(hospital, third)
    Delivery.objects.exclude(channel="dmp").delete()
    waiting = Delivery.objects.get(letter=pending)
    assert waiting.state == Delivery.State.PENDING
    filed_before = {d["uniqueId"] for d in box.store.documents()}
    assert filed_before == {sent.document_oid, corrected.replaces.document_oid, corrected.document_oid}
    checked, mismatches = verify()
    assert checked == 4 and mismatches == []

    # the backup, as the README says
    source = connection.settings_dict["NAME"]
    p = _pg(source)
    conn_args = ["-h", p["host"], "-p", p["port"], "-U", p["user"]]
    dump = tmp_path / "liaison.dump"
    out = _run(["pg_dump", *conn_args, "--format=custom", "--file", str(dump), source])
    assert out.returncode == 0, out.stderr
    # the restore into a new database
    assert _run(["createdb", *conn_args, restored_name]).returncode == 0
    out = _run(
        ["pg_restore", *conn_args, "--no-owner", "--exit-on-error", "--dbname", restored_name, str(dump)]
    )
    assert out.returncode == 0, out.stderr
    assert _counts(restored_name) == _counts(source)

    # every signed letter still matches its sha-256
    out = _liaison(restored_name, "verify-documents")
    assert out.returncode == 0, out.stderr
    assert "4 lettre(s) signée(s) vérifiée(s)" in out.stdout

    # the outbox resumes where it was: the pending letter, and only it, goes to the DMP
    out = _liaison(restored_name, "worker", "--once", LIAISON_DMP_URL=url)
    assert out.returncode == 0, out.stderr
    assert "1 envoi(s) traité(s)" in out.stdout
    assert {d["uniqueId"] for d in box.store.documents()} == filed_before | {pending.document_oid}
    with psycopg.connect(**_pg(restored_name)) as conn:
        states = dict(conn.execute("SELECT id, state FROM delivery_delivery").fetchall())
    assert states[waiting.pk] == "delivered" and set(states.values()) == {"delivered"}
    assert Delivery.objects.get(pk=waiting.pk).state == Delivery.State.PENDING  # the source untouched

    # the check is not blind: one byte changed in a restored PDF is named
    with psycopg.connect(**_pg(restored_name)) as conn:
        conn.execute(
            "UPDATE letters_letterdocument SET pdf = pdf || '\\x00'::bytea WHERE letter_id = %s", [sent.pk]
        )
    out = _liaison(restored_name, "verify-documents")
    assert out.returncode == 1
    assert f"Lettre {sent.pk} ({sent.document_oid}) : PDF ne correspond plus" in out.stderr
    assert "1 écart(s) d'empreinte sur 4 lettre(s) signée(s)" in out.stderr
    assert Letter.objects.filter(status="signed").count() == 3
