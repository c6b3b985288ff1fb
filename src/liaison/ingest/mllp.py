"""The MLLP listener: HL7 v2 messages over TCP, framed <VT> message <FS><CR>, one ACK each.

A thread per connection (a GAM keeps one or a few long-lived connections): messages of one
connection are applied one after the other, each in its own transaction on the thread's own
database connection (Django connections are per thread), and the ACK is sent before the next
message is read. `MLLPServer.start()` runs it in the background (tests, benchmarks);
`serve_forever()` in the foreground (`liaison mllp`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import socketserver
import threading
from collections.abc import Callable

from django.db import connection, connections

from liaison.ingest import hl7v2
from liaison.ingest.apply import Outcome, process
from liaison.ingest.models import InboundMessage

logger = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 4 * 1024 * 1024
Processor = Callable[[bytes, str, str], Outcome]


def _default_processor(data: bytes, source: str, peer: str) -> Outcome:
    return process(data, source, peer)


def use_prepared_statements() -> bool:
    """Bind parameters on the PostgreSQL server and prepare repeated statements, for the
    connections this process opens from now on (the listener runs the same dozen statements for
    every message). Skipped on SQLite, when LIAISON_PG_SERVER_SIDE_BINDING=0, or when the
    settings already chose. Call it before the listener opens any connection."""
    if os.environ.get("LIAISON_PG_SERVER_SIDE_BINDING") == "0":
        return False
    settings_dict = connections.settings["default"]  # shared by every thread's connection
    if settings_dict["ENGINE"] != "django.db.backends.postgresql":
        return False
    options = settings_dict.setdefault("OPTIONS", {})
    options.setdefault("server_side_binding", True)
    options.setdefault("prepare_threshold", int(os.environ.get("LIAISON_PG_PREPARE_THRESHOLD", "2")))
    connections.close_all()
    return bool(options["server_side_binding"])


def _replace_broken_db_connection() -> None:
    """Keep the thread's DB connection for the whole MLLP connection (not one per message, as
    `close_old_connections` would with CONN_MAX_AGE=0); drop it only after an error left it unusable."""
    if connection.connection is not None and connection.errors_occurred:
        if connection.is_usable():
            connection.errors_occurred = False
        else:
            connection.close()


def serve_connection(sock: socket.socket, processor: Processor) -> None:
    """Read frames from one MLLP connection and answer each, until the peer closes it."""
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        host, port = sock.getpeername()[:2]
        peer = f"{host}:{port}"
    except OSError:
        peer = ""
    buf = bytearray()
    try:
        while True:
            try:
                chunk = sock.recv(65536)
            except OSError:
                break
            if not chunk:
                break
            buf += chunk
            if not _drain(sock, buf, peer, processor):
                break
    finally:
        connections.close_all()


def _drain(sock: socket.socket, buf: bytearray, peer: str, processor: Processor) -> bool:
    """Answer every complete frame in `buf`; False when the connection must be closed."""
    while True:
        start = buf.find(hl7v2.START_BLOCK)
        if start < 0:
            buf.clear()  # bytes outside any frame: ignored, as MLLP says
            return True
        if start:
            del buf[:start]
        end = buf.find(b"\x1c", 1)
        if end < 0:
            if len(buf) > MAX_MESSAGE_BYTES:
                reason = (
                    f"Message trop volumineux (plus de {MAX_MESSAGE_BYTES // 1024 // 1024} Mio) : refusé."
                )
                header = hl7v2.sniff_header(bytes(buf[1:4096]).decode("latin-1"))
                ack = hl7v2.build_ack(header, "AR", reason, error_code="100")
                _send(sock, hl7v2.frame(ack))
                logger.warning("%s: %s", peer, reason)
                return False
            return True
        payload = bytes(buf[1:end])
        # <FS><CR> ends the frame; tolerate a sender that omits the <CR>.
        del buf[: end + (2 if buf[end + 1 : end + 2] == b"\r" else 1)]
        _replace_broken_db_connection()
        outcome = processor(payload, InboundMessage.Source.MLLP, peer)
        if outcome.code != "AA":
            logger.info("%s: message refusé (%s) : %s", peer, outcome.code, outcome.reason)
        if not _send(sock, hl7v2.frame(outcome.ack, outcome.encoding)):
            return False


def _send(sock: socket.socket, data: bytes) -> bool:
    try:
        sock.sendall(data)
        return True
    except OSError:
        return False


class _Handler(socketserver.BaseRequestHandler):
    server: _TCPServer

    def handle(self) -> None:
        self.server.track(self.request, add=True)
        try:
            serve_connection(self.request, self.server.processor)
        finally:
            self.server.track(self.request, add=False)


class _TCPServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], processor: Processor):
        self.processor = processor
        self._open: dict[socket.socket, threading.Thread] = {}
        self._lock = threading.Lock()
        super().__init__(address, _Handler)

    def track(self, sock: socket.socket, add: bool) -> None:
        with self._lock:
            if add:
                self._open[sock] = threading.current_thread()
            else:
                self._open.pop(sock, None)

    def close_clients(self, wait: float = 5.0) -> None:
        """Close every client connection and wait for their threads (they close their DB connection)."""
        with self._lock:
            open_now = list(self._open.items())
        for sock, _ in open_now:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        for _, thread in open_now:
            if thread is not threading.current_thread():
                thread.join(timeout=wait)


class MLLPServer:
    """An MLLP listener on (host, port), in this process; port 0 picks a free port (see
    `address`). Several processes: `liaison.ingest.dispatch`."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 2575,
        processor: Processor | None = None,
    ):
        self._server = _TCPServer((host, port), processor or _default_processor)
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    def serve_forever(self) -> None:
        try:
            self._server.serve_forever(poll_interval=0.2)
        finally:
            self._server.close_clients()
            self._server.server_close()

    def start(self) -> MLLPServer:
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.close_clients()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> MLLPServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class MLLPClient:
    """A minimal MLLP sender (tests, benchmarks, `liaison` scripts): send a message, read its ACK."""

    def __init__(self, host: str, port: int, timeout: float = 30.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._buf = bytearray()

    def send(self, message: str | bytes, encoding: str = "utf-8") -> str:
        data = message.encode(encoding) if isinstance(message, str) else message
        self.sock.sendall(hl7v2.START_BLOCK + data + hl7v2.END_BLOCK)
        return self.read_ack(encoding)

    def read_ack(self, encoding: str = "utf-8") -> str:
        while True:
            end = self._buf.find(hl7v2.END_BLOCK)
            if end >= 0:
                start = self._buf.find(hl7v2.START_BLOCK)
                frame = bytes(self._buf[start + 1 : end])
                del self._buf[: end + 2]
                return frame.decode(encoding, "replace")
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("connexion fermée par le serveur MLLP")
            self._buf += chunk

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> MLLPClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
