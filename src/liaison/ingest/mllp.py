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
import socket
import socketserver
import threading
from collections.abc import Callable
from typing import Any

from django.db import connection, connections

from liaison.ingest import hl7v2
from liaison.ingest.apply import Outcome, process, refuse_oversize
from liaison.ingest.config import Limits, ListenerConfig
from liaison.ingest.models import InboundMessage

logger = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 4 * 1024 * 1024
ARCHIVE_HEAD_BYTES = 64 * 1024  # what the archive keeps of a message over the limit
DISCARD_LIMIT = 16 * MAX_MESSAGE_BYTES  # a frame still open after this closes the connection
Processor = Callable[[bytes, str, str], Outcome]


def _default_processor(data: bytes, source: str, peer: str) -> Outcome:
    return process(data, source, peer)


def use_prepared_statements(config: ListenerConfig) -> bool:
    """Bind parameters on the PostgreSQL server and prepare repeated statements, for the
    connections this process opens from now on (the listener runs the same dozen statements for
    every message). Skipped on SQLite, when LIAISON_PG_SERVER_SIDE_BINDING=0, or when the
    settings already chose. Call it before the listener opens any connection."""
    if not config.server_side_binding:
        return False
    settings_dict = connections.settings["default"]  # shared by every thread's connection
    if settings_dict["ENGINE"] != "django.db.backends.postgresql":
        return False
    options = settings_dict.setdefault("OPTIONS", {})
    options.setdefault("server_side_binding", True)
    options.setdefault("prepare_threshold", config.prepare_threshold)
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


def serve_connection(sock: socket.socket, processor: Processor, idle_timeout: float | None = None) -> None:
    """Read frames from one MLLP connection and answer each, until the peer closes it or stays
    silent for `idle_timeout` seconds."""
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.settimeout(idle_timeout)
    try:
        host, port = sock.getpeername()[:2]
        peer = f"{host}:{port}"
    except OSError:
        peer = ""
    reader = _Reader(sock, peer, processor)
    try:
        while True:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                logger.info("%s: connexion fermée après %s s sans message", peer, idle_timeout)
                break
            except OSError:
                break
            if not chunk or not reader.feed(chunk):
                break
    finally:
        connections.close_all()


class _Reader:
    """The frames of one connection. A frame over `MAX_MESSAGE_BYTES` is not kept in memory: its
    first `ARCHIVE_HEAD_BYTES` are, the rest is counted until the frame ends, then the message is
    archived and rejected (AR) and the connection goes on with the next frame."""

    def __init__(self, sock: socket.socket, peer: str, processor: Processor):
        self.sock, self.peer, self.processor = sock, peer, processor
        self.buf = bytearray()
        self.head: bytes | None = None  # set while the rest of an oversized frame is dropped
        self.size = 0

    def feed(self, chunk: bytes) -> bool:
        """Take what arrived; False when the connection must be closed."""
        if self.head is not None:
            end = chunk.find(b"\x1c")
            if end < 0:
                self.size += len(chunk)
                if self.size > DISCARD_LIMIT:  # a frame that never ends: give up the connection
                    self._refuse_oversize(complete=False)
                    return False
                return True
            self.size += end
            if not self._refuse_oversize(complete=True):
                return False
            chunk = chunk[end + 1 :]
        self.buf += chunk
        return self._drain()

    def _drain(self) -> bool:
        """Answer every complete frame in the buffer."""
        buf = self.buf
        while True:
            start = buf.find(hl7v2.START_BLOCK)
            if start < 0:
                buf.clear()  # bytes outside any frame: ignored, as MLLP says
                return True
            if start:
                del buf[:start]
            end = buf.find(b"\x1c", 1)
            if end < 0:
                if len(buf) - 1 > MAX_MESSAGE_BYTES:
                    self.head, self.size = bytes(buf[1 : 1 + ARCHIVE_HEAD_BYTES]), len(buf) - 1
                    buf.clear()
                return True
            if end - 1 > MAX_MESSAGE_BYTES:
                self.head, self.size = bytes(buf[1 : 1 + ARCHIVE_HEAD_BYTES]), end - 1
                del buf[: end + 1]
                if not self._refuse_oversize(complete=True):
                    return False
                continue
            payload = bytes(buf[1:end])
            # <FS><CR> ends the frame; tolerate a sender that omits the <CR>.
            del buf[: end + (2 if buf[end + 1 : end + 2] == b"\r" else 1)]
            _replace_broken_db_connection()
            outcome = self.processor(payload, InboundMessage.Source.MLLP, self.peer)
            if outcome.code != "AA":
                logger.info("%s: message refusé (%s) : %s", self.peer, outcome.code, outcome.reason)
            if not _send(self.sock, hl7v2.frame(outcome.ack, outcome.encoding)):
                return False

    def _refuse_oversize(self, complete: bool) -> bool:
        assert self.head is not None
        _replace_broken_db_connection()
        outcome = refuse_oversize(
            self.head, self.size, MAX_MESSAGE_BYTES, InboundMessage.Source.MLLP, self.peer, complete
        )
        self.head, self.size = None, 0
        logger.warning("%s: %s", self.peer, outcome.reason)
        return _send(self.sock, hl7v2.frame(outcome.ack, outcome.encoding))


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
            serve_connection(self.request, self.server.processor, self.server.limits.idle_timeout)
        finally:
            self.server.track(self.request, add=False)


class _TCPServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False

    def __init__(
        self,
        address: tuple[str, int],
        processor: Processor,
        limits: Limits,
        beat: Callable[[], None] | None = None,
    ):
        self.processor = processor
        self.limits = limits
        self.beat = beat
        self._open: dict[socket.socket, threading.Thread] = {}
        self._active = 0  # connections accepted and not finished (counted before their thread runs)
        self._lock = threading.Lock()
        super().__init__(address, _Handler)

    def verify_request(self, request: Any, client_address: Any) -> bool:
        """The connection cap: over it, a new connection is closed at once."""
        with self._lock:
            cap = self.limits.max_connections
            if not cap or self._active < cap:
                self._active += 1
                return True
        logger.warning(
            "%s : connexion refusée, %s connexions déjà ouvertes (LIAISON_MLLP_MAX_CONNECTIONS)",
            client_address[0] if client_address else "?",
            cap,
        )
        return False

    def service_actions(self) -> None:
        """Called by `serve_forever` at every poll: the listener's heartbeat (when it has one)."""
        if self.beat is not None:
            self.beat()

    def track(self, sock: socket.socket, add: bool) -> None:
        with self._lock:
            if add:
                self._open[sock] = threading.current_thread()
            else:
                self._open.pop(sock, None)
                self._active -= 1

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
        limits: Limits | None = None,
        beat: Callable[[], None] | None = None,
    ):
        """`beat`: called at every poll of the accepting loop (`liaison mllp` passes its heartbeat)."""
        self._server = _TCPServer((host, port), processor or _default_processor, limits or Limits(), beat)
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
