"""Poison ADT messages (security review, findings 6 and 7): control characters, values longer
than their column, database refusals. Bad data is rejected (AR, do not resend) with the field
named; only a database outage is worth a resend (AE)."""

from __future__ import annotations

import dataclasses

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from liaison.core.controls import ONE_LINE
from liaison.ingest import apply, hl7v2
from liaison.ingest.apply import process
from liaison.ingest.hl7v2 import HL7Error
from liaison.ingest.models import InboundMessage
from liaison.letters.models import Patient
from tests.ingest.messages import GP_RPPS, MEDECIN_RPPS, adt


def rejected(text: str) -> HL7Error:
    with pytest.raises(HL7Error) as caught:
        hl7v2.parse(text)
    return caught.value


# --- the parser: control characters and lengths ------------------------------------------------


def test_escaped_crlf_in_a_name_is_rejected_with_the_field_named():
    err = rejected(adt("A01", "C1", family="DU\\X0D0A\\PONT"))
    assert err.ack_code == "AR" and err.location == "PID-5"
    assert "Caractère de contrôle interdit en PID-5" in str(err) and "U+000D" in str(err)


@pytest.mark.parametrize("char", ["\x00", "\t", "\x1b", "\x85", "\u2028"])
def test_raw_control_characters_in_a_name_are_rejected(char):
    err = rejected(adt("A01", "C2", given=f"Cla{char}ire"))
    assert err.ack_code == "AR" and err.location == "PID-5"
    assert f"U+{ord(char):04X}" in str(err)


def test_control_characters_in_the_header_and_a_professional_are_rejected():
    assert rejected(adt("A01", "C\x003")).location == "MSH-10"
    text = adt("A01", "C4", gp_rpps=GP_RPPS).replace("GENERALISTE", "GENERA\\X0A\\LISTE")
    assert rejected(text).location == "ROL-4"


def test_a_control_character_in_a_field_liaison_does_not_read_is_ignored():
    text = adt("A01", "C5") + "\rNTE|1||texte libre\\.br\\sur deux lignes\x07"
    assert hl7v2.parse(text).patient.birth_family_name == "MARTIN"


def test_a_name_longer_than_its_column_is_rejected_not_cut():
    err = rejected(adt("A01", "L1", family="A" * 101))
    assert err.ack_code == "AR" and err.location == "PID-5"
    assert "101 caractères, 100 au plus" in str(err) and "ne la tronque pas" in str(err)
    assert hl7v2.parse(adt("A01", "L2", family="A" * 100)).patient.birth_family_name == "A" * 100
    long_gp = adt("A01", "L3", gp_rpps=GP_RPPS).replace("GENERALISTE", "G" * 101)
    assert rejected(long_gp).location == "ROL-4"
    assert rejected(adt("A01", "L4", ipp="I" * 31)).ack_code == "AR"


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if dataclasses.is_dataclass(value):
        return [s for f in dataclasses.fields(value) for s in _strings(getattr(value, f.name))]
    if isinstance(value, tuple):
        return [s for v in value for s in _strings(v)]
    return []


VALID = adt("A01", "H1", gp_rpps=GP_RPPS, attending_rpps=MEDECIN_RPPS, zfm="8||5")
CONTROLS = st.sampled_from(["\x00", "\x01", "\t", "\x0b", "\x0c", "\x1b", "\x7f", "\x85", "\u2028"])
ESCAPED = st.sampled_from(["\\X0D0A\\", "\\X00\\", "\\X09\\", "\\.br\\", "\\X1B\\"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_no_control_character_ever_reaches_a_parsed_message(data):
    """Control characters, raw or escaped, anywhere in a valid message: the message is rejected
    with the field named, or parses to values that hold none."""
    text = VALID
    for _ in range(data.draw(st.integers(1, 4))):
        # Inside a segment (not in the segment names, not on a segment separator).
        pos = data.draw(st.integers(4, len(text) - 1))
        chunk = data.draw(st.one_of(CONTROLS, ESCAPED))
        text = text[:pos] + chunk + text[pos:]
    try:
        msg = hl7v2.parse(text)
    except HL7Error as exc:
        if str(exc).startswith("Caractère de contrôle"):
            mapped = ("MSH", "EVN", "PID", "ROL", "PV1", "ZBE", "ZFM")
            assert exc.ack_code == "AR" and exc.location[:3] in mapped
        return
    assert not [s for s in _strings(msg) if ONE_LINE.search(s)]


# --- applying: AR for bad data, AE only for a database outage ---------------------------------

db = pytest.mark.django_db


@db
def test_a_nul_byte_in_a_name_is_rejected_for_good_and_archived(hospital):
    text = adt("A01", "N1", family="MAR\x00TIN")
    for _ in range(2):  # the GAM resends: the same definitive answer, never « renvoyez »
        out = process(text.encode())
        assert out.code == "AR" and "MSA|AR|N1|" in out.ack and "PID-5" in out.ack
        assert "renvoyez le message" not in out.reason
    rows = InboundMessage.objects.filter(control_id="N1")
    assert [r.ack_code for r in rows] == ["AR", "AR"]
    assert "MAR\ufffdTIN" in rows[0].raw
    assert not Patient.objects.filter(ipp="IPP100").exists()


@db
def test_a_value_the_database_refuses_is_rejected_not_retried(hospital, monkeypatch):
    def division_by_zero(msg, source=None):
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 / 0")  # a DataError, as a NUL byte or an over-long value

    monkeypatch.setattr(apply, "apply_message", division_by_zero)
    out = process(adt("A01", "D1"))
    assert out.code == "AR" and "Donnée refusée par la base (DataError" in out.reason
    assert InboundMessage.objects.get(control_id="D1").ack_code == "AR"


@pytest.mark.django_db(transaction=True)
def test_only_a_database_outage_asks_for_a_resend(hospital, monkeypatch):
    def outage(msg, source=None):
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(pg_backend_pid())")

    monkeypatch.setattr(apply, "apply_message", outage)
    out = process(adt("A01", "O1"))
    assert out.code == "AE" and "renvoyez le message" in out.reason
    connection.close()
    monkeypatch.undo()
    assert process(adt("A01", "O1")).code == "AA"  # the resend, once the database is back
