"""The MLLP listener through a real socket on loopback (other threads: transactional_db)."""

from __future__ import annotations

import socket
import threading

import pytest

from liaison.ingest import hl7v2
from liaison.ingest.mllp import MLLPClient, MLLPServer
from liaison.ingest.models import InboundMessage
from liaison.letters.models import Patient, Stay
from tests.ingest.messages import adt, send_stays

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def server(hospital):
    with MLLPServer("127.0.0.1", 0) as srv:
        yield srv


def msa(ack: str) -> list[str]:
    segment = next(s for s in ack.split("\r") if s.startswith("MSA|"))
    return segment.split("|")


def test_ack_nack_and_duplicate_over_the_socket(server):
    with MLLPClient(*server.address) as client:
        ack = client.send(adt("A01", "S1"))
        assert msa(ack)[:3] == ["MSA", "AA", "S1"]
        assert ack.startswith("MSH|^~\\&|LIAISON|") and "|ACK^A01^ACK|" in ack
        nack = client.send(adt("A03", "S2", nda="NDA999", discharge="202611141500"))
        assert msa(nack)[:3] == ["MSA", "AE", "S2"]
        assert "Séjour inconnu : NDA NDA999" in nack and "\rERR|" in nack
        again = client.send(adt("A01", "S1"))
        assert msa(again)[1] == "AA" and "déjà reçu" in again
        reject = client.send(adt("A01", "S3", message_type="ORU"))
        assert msa(reject)[1] == "AR" and "Type de message non pris en charge" in reject
    assert Stay.objects.filter(visit_number="NDA100").count() == 1
    rows = list(InboundMessage.objects.order_by("id").values_list("control_id", "outcome"))
    assert rows == [("S1", "accepted"), ("S2", "refused"), ("S1", "duplicate"), ("S3", "refused")]


def test_framing_split_and_pipelined_frames(server):
    """Bytes outside frames are ignored; a frame may arrive in pieces; two frames in one send."""
    first = hl7v2.frame(adt("A01", "F1"))
    second = hl7v2.frame(adt("A02", "F2", unit="MATER"))
    with socket.create_connection(server.address, timeout=10) as sock:
        sock.sendall(b"noise" + first[:10])
        sock.sendall(first[10:] + second)
        data = b""
        while data.count(hl7v2.END_BLOCK) < 2:
            chunk = sock.recv(65536)
            assert chunk, "connection closed before both ACKs"
            data += chunk
    acks = [f.lstrip(b"\x0b").decode() for f in data.split(hl7v2.END_BLOCK) if f]
    assert [msa(a)[1:3] for a in acks] == [["AA", "F1"], ["AA", "F2"]]
    assert Stay.objects.get(visit_number="NDA100").unit.code == "MATER"


def test_latin1_sender_gets_a_latin1_ack(server):
    text = adt("A01", "L1", family="LEFÈVRE", charset="8859/1")
    with MLLPClient(*server.address) as client:
        ack = client.send(text.encode("latin-1"), encoding="latin-1")
    assert msa(ack)[1] == "AA" and ack.rstrip("\r").split("\r")[0].endswith("|8859/1")
    assert Patient.objects.get(ipp="IPP100").birth_family_name == "LEFÈVRE"


def test_concurrent_connections_keep_each_patient_in_order(server):
    """Four connections, each with its own patients: every sequence ends discharged."""
    assert send_stays(server.address, connections=4, stays=5, tag="C") == []
    stays = Stay.objects.filter(visit_number__startswith="NC-")
    assert stays.count() == 20
    assert all(s.discharge_at is not None and s.unit.code == "MATER" for s in stays)


def test_concurrent_copies_of_one_message_apply_once(server):
    text = adt("A01", "DUP")
    acks: list[str] = []

    def run() -> None:
        with MLLPClient(*server.address) as client:
            acks.append(client.send(text))

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert len(acks) == 4 and all(msa(a)[1] == "AA" for a in acks)
    rows = InboundMessage.objects.filter(control_id="DUP")
    assert rows.filter(outcome="accepted").count() == 1
    assert rows.filter(outcome="duplicate").count() == 3
    assert Stay.objects.filter(visit_number="NDA100").count() == 1
