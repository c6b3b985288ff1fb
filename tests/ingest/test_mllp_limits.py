"""What the MLLP listener bounds (security review, finding 7), over a real socket: the size of a
message (archived, then rejected, the connection goes on), a silent connection (closed after the
idle timeout), the number of connections (the next ones closed), a poison message (AR every
time, so the GAM's ordered queue moves on)."""

from __future__ import annotations

import socket
import time

import pytest

from liaison.ingest import hl7v2, mllp
from liaison.ingest.mllp import Limits, MLLPClient, MLLPServer
from liaison.ingest.models import InboundMessage
from liaison.letters.models import Patient
from tests.ingest.messages import adt

pytestmark = pytest.mark.django_db(transaction=True)


def msa(ack: str) -> list[str]:
    return next(s for s in ack.split("\r") if s.startswith("MSA|")).split("|")


def closed_by_server(sock: socket.socket, within: float) -> bool:
    sock.settimeout(within)
    try:
        return sock.recv(1) == b""
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True


def test_an_oversized_message_is_archived_then_rejected_and_the_connection_goes_on(hospital, monkeypatch):
    monkeypatch.setattr(mllp, "MAX_MESSAGE_BYTES", 200_000)
    big = adt("A01", "BIG1") + "\rNTE|1||" + "X" * 300_000
    with MLLPServer("127.0.0.1", 0, limits=Limits()) as server, MLLPClient(*server.address) as client:
        client.sock.sendall(hl7v2.START_BLOCK)
        for start in range(0, len(big), 50_000):  # in pieces, as a slow sender would
            client.sock.sendall(big[start : start + 50_000].encode())
        client.sock.sendall(hl7v2.END_BLOCK)
        nack = client.read_ack()
        assert msa(nack)[1:3] == ["AR", "BIG1"] and "Message trop volumineux" in nack
        after = client.send(adt("A01", "NEXT"))  # same connection: the next message is served
        assert msa(after)[1] == "AA"
    row = InboundMessage.objects.get(control_id="BIG1")
    assert row.outcome == "refused" and row.ack_code == "AR"
    assert f"{len(big.encode())} octets reçus" in row.reason
    assert row.raw.startswith("MSH|") and len(row.raw) == mllp.ARCHIVE_HEAD_BYTES


def test_a_silent_connection_is_closed_after_the_idle_timeout(hospital):
    with MLLPServer("127.0.0.1", 0, limits=Limits(idle_timeout=0.5)) as server:
        with MLLPClient(*server.address) as client:
            assert msa(client.send(adt("A01", "IDLE1")))[1] == "AA"
            started = time.monotonic()
            assert closed_by_server(client.sock, within=10)
            assert time.monotonic() - started < 5
        with MLLPClient(*server.address) as client:  # the GAM reconnects
            assert msa(client.send(adt("A03", "IDLE2", discharge="202611141500")))[1] == "AA"


def test_connections_over_the_cap_are_closed_on_arrival(hospital):
    with MLLPServer("127.0.0.1", 0, limits=Limits(max_connections=2)) as server:
        first, second = MLLPClient(*server.address), MLLPClient(*server.address)
        assert msa(first.send(adt("A01", "CAP1")))[1] == "AA"
        assert msa(second.send(adt("A01", "CAP2", ipp="IPP200", nda="NDA200")))[1] == "AA"
        with socket.create_connection(server.address, timeout=10) as third:
            assert closed_by_server(third, within=5)
        first.close()
        deadline = time.monotonic() + 5
        while True:  # the slot is free once the server has seen the close
            fourth = MLLPClient(*server.address, timeout=2)
            try:
                assert msa(fourth.send(adt("A01", "CAP3", ipp="IPP300", nda="NDA300")))[1] == "AA"
                break
            except (ConnectionError, OSError):
                assert time.monotonic() < deadline
                time.sleep(0.1)
            finally:
                fourth.close()
        second.close()


def test_a_poison_message_does_not_block_the_ordered_queue(hospital):
    """The GAM sends in order and resends what is not accepted: a NUL in a name is rejected
    (AR) every time, so it moves on to the next message."""
    with MLLPServer("127.0.0.1", 0, limits=Limits()) as server, MLLPClient(*server.address) as client:
        poison = adt("A01", "P1", family="MAR\x00TIN").encode()
        for _ in range(3):
            nack = client.send(poison)
            assert msa(nack)[1] == "AR" and "PID-5" in nack
        assert msa(client.send(adt("A01", "P2")))[1] == "AA"
    assert Patient.objects.get(ipp="IPP100").birth_family_name == "MARTIN"
