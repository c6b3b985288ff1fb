"""`liaison mllp --workers N`: one process accepts, N worker processes apply the messages.

Python runs one thread at a time per process, so on several cores the listener needs several
processes. The parent process accepts every MLLP connection and passes its socket (SCM_RIGHTS,
`socket.send_fds`) to the worker that has the fewest open connections; the worker answers every
message of that connection, in order, on its own database connection, and reports when the
connection ends. Ordering across connections is the patient row lock's job, as with one
process. A worker that dies is replaced; the senders of its connections reconnect and send again
what was not acknowledged (applied once: idempotence on MSH-10).

Several processes on one SO_REUSEPORT port were tried first: the kernel spreads connections by a
hash, so four connections often landed three on one process.
"""

from __future__ import annotations

import contextlib
import logging
import os
import selectors
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable

from liaison.ingest.apply import process
from liaison.ingest.config import Limits
from liaison.ingest.mllp import Processor, serve_connection

logger = logging.getLogger(__name__)

CLOSED = b"."  # worker → parent: one connection ended
RESPAWN_DELAY = 0.5  # seconds before a dead worker is replaced


class _Worker:
    def __init__(self, channel: socket.socket, process: subprocess.Popen):
        self.channel = channel
        self.process = process
        self.open = 0


def _spawn(command: list[str]) -> _Worker:
    parent_end, child_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    process = subprocess.Popen(
        [*command, "--worker-fd", str(child_end.fileno())],
        pass_fds=(child_end.fileno(),),
        env=os.environ.copy(),
        stdout=subprocess.DEVNULL,
    )
    child_end.close()
    return _Worker(parent_end, process)


def serve(
    listener: socket.socket,
    workers: int,
    command: list[str],
    beat: Callable[[], None] | None = None,
    limits: Limits | None = None,
) -> None:
    """Accept on `listener` until interrupted; `command` starts one worker (`liaison mllp`, given
    the same `limits` on its command line); `beat` is called at every turn of the loop (the
    listener's heartbeat); at most `limits.max_connections` are open across the workers."""
    limits = limits or Limits()
    command = [*command, *limits.as_options()]
    pool = [_spawn(command) for _ in range(workers)]
    cap = limits.max_connections
    selector = selectors.DefaultSelector()
    listener.setblocking(False)
    selector.register(listener, selectors.EVENT_READ, None)
    for worker in pool:
        selector.register(worker.channel, selectors.EVENT_READ, worker)
    try:
        while True:
            if beat is not None:
                beat()
            for key, _ in selector.select(timeout=0.2):
                worker = key.data
                if worker is None:
                    _dispatch(listener, pool, cap)
                    continue
                data = worker.channel.recv(4096)
                if data:
                    worker.open -= data.count(CLOSED)
                    continue
                # The worker died: its connections died with it (their senders reconnect and
                # send again what was not acknowledged); a new worker takes its place.
                selector.unregister(worker.channel)
                worker.channel.close()
                pool.remove(worker)
                code = worker.process.wait()
                logger.error("processus d'écoute %s arrêté (code %s) : remplacé", worker.process.pid, code)
                time.sleep(RESPAWN_DELAY)  # a worker that cannot start must not spin the parent
                fresh = _spawn(command)
                pool.append(fresh)
                selector.register(fresh.channel, selectors.EVENT_READ, fresh)
    finally:
        selector.close()
        for worker in pool:
            worker.channel.close()  # the worker ends when its channel closes
        for worker in pool:
            try:
                worker.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                worker.process.terminate()


def _dispatch(listener: socket.socket, pool: list[_Worker], cap: int = 0) -> None:
    try:
        conn, address = listener.accept()
    except BlockingIOError:
        return
    with conn:
        if cap and sum(w.open for w in pool) >= cap:
            logger.warning(
                "%s : connexion refusée, %s connexions déjà ouvertes (LIAISON_MLLP_MAX_CONNECTIONS)",
                address[0],
                cap,
            )
            return
        worker = min(pool, key=lambda w: w.open)
        socket.send_fds(worker.channel, [b"c"], [conn.fileno()])
        worker.open += 1


def work(channel_fd: int, processor: Processor | None = None, limits: Limits | None = None) -> None:
    """A worker: serve each connection the parent passes, in its own thread, until the parent
    closes the channel; a connection silent for `limits.idle_timeout` is closed."""
    channel = socket.socket(fileno=channel_fd)
    lock = threading.Lock()
    handle = processor or process
    idle_timeout = (limits or Limits()).idle_timeout

    def run(conn: socket.socket) -> None:
        try:
            with conn:
                serve_connection(conn, handle, idle_timeout)
        finally:
            with lock, contextlib.suppress(OSError):
                channel.sendall(CLOSED)

    while True:
        try:
            data, fds, _, _ = socket.recv_fds(channel, 1, 1)
        except (OSError, KeyboardInterrupt):  # Ctrl-C reaches the whole process group
            break
        if not data:
            break
        for fd in fds:
            threading.Thread(target=run, args=(socket.socket(fileno=fd),), daemon=True).start()
    sys.exit(0)
