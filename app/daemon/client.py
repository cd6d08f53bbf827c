"""The control client: finds the project's daemon and talks to it.

Plain blocking sockets and JSON lines (see :mod:`parley.app.daemon.ops` for the ops): this is
the ``parley say`` hot path, so it imports neither asyncio nor protobuf nor textual.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from parley.app.daemon.state import (
    LOCK_FILE,
    STATE_FILE,
    SessionState,
    find_session,
)
from parley.app.errors import ParleyError, command_hint

if TYPE_CHECKING:
    from parley.app.protocol.shapes import DaemonStatus


class NoSession(ParleyError):
    """No daemon runs for this project (message starts with ``no session running``)."""


class ControlError(ParleyError):
    """The daemon answered with an error; ``kind`` is its category (``input``,
    ``agent``, ``auth``, ``request``, …) or ``None``; ``log_tail`` the agent log's last
    lines when the agent failed (a restart)."""

    def __init__(self, message: str, kind: str | None = None, log_tail: str = "") -> None:
        super().__init__(message)
        self.kind = kind
        self.log_tail = log_tail


def locate(cwd: Path, name: str | None = None) -> SessionState:
    """The live session of the project containing ``cwd``.

    State left by a daemon that died (SIGKILL, crash) is recognised (its lock is
    free), cleaned up, and reported as :class:`NoSession`, as is no state at all.
    """
    found = find_session(cwd, name)
    if found is None:
        start = command_hint("start", name)
        raise NoSession(f"no session running for {cwd} (start one with `{start}`)")
    sdir, state = found
    if not daemon_alive(state) and cleanup_stale(sdir, state):
        raise NoSession(
            f"no session running for {state.project}: the daemon (pid {state.daemon_pid}) "
            "had died; its stale state was cleaned up"
        )
    return state


def daemon_alive(state: SessionState) -> bool:
    """Whether the control port answers (a cheap liveness test)."""
    try:
        with socket.create_connection(("127.0.0.1", state.control_port), timeout=1):
            return True
    except OSError:
        return False


def cleanup_stale(sdir: Path, state: SessionState) -> bool:
    """If the daemon that wrote ``state`` is dead (its lock is free), stop the agent
    it left behind and remove the state file. Returns ``True`` if it was stale."""
    from filelock import FileLock, Timeout

    lock = FileLock(str(sdir / LOCK_FILE), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        return False  # the daemon holds its lock: alive (maybe busy)
    try:
        if _is_our_agent(state):
            from parley.app.agent.launcher import stop_process_group

            stop_process_group(state.agent_pid)
        try:
            (sdir / STATE_FILE).unlink()
        except FileNotFoundError:
            pass
        return True
    finally:
        lock.release()


def _is_our_agent(state: SessionState) -> bool:
    """The recorded agent pid still names the agent we spawned (guards pid reuse)."""
    import psutil

    try:
        p = psutil.Process(state.agent_pid)
        return "livekit.agents" in p.cmdline() and p.create_time() <= state.started_at + 1
    except psutil.Error:
        return False


def request_lines(token: str, op: str, args: dict[str, Any]) -> bytes:
    """What a client sends: the token line, then the request line (the daemon reads
    the token within a small size and time before it reads a request of up to
    :data:`parley.app.protocol.limits.CONTROL_LINE_LIMIT` bytes; see
    :mod:`parley.app.daemon.controlproto`)."""
    auth = json.dumps({"token": token})
    req = json.dumps({"op": op, **args}, ensure_ascii=False)
    return (auth + "\n" + req + "\n").encode()


class ControlClient:
    """One daemon's control channel; each call opens one connection."""

    def __init__(self, state: SessionState, connect_timeout: float = 5.0) -> None:
        self.state = state
        self.connect_timeout = connect_timeout

    def stream(
        self, op: str, timeout: float | None = None, **args: Any
    ) -> Iterator[dict[str, Any]]:
        """Send one request and yield the daemon's JSON messages until it closes.

        ``timeout`` bounds the whole exchange in seconds (``TimeoutError`` when it
        runs out). Raises :class:`ControlError` for an ``error`` message and
        ``ConnectionError`` when the daemon cannot be reached.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        sock = socket.create_connection(
            ("127.0.0.1", self.state.control_port), timeout=self.connect_timeout
        )
        with sock, sock.makefile("rb") as f:
            sock.sendall(request_lines(self.state.token, op, args))
            while True:
                if deadline is not None:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise TimeoutError
                    sock.settimeout(remaining)
                else:
                    sock.settimeout(None)
                line = f.readline()  # socket timeouts raise TimeoutError
                if not line:
                    return
                msg = json.loads(line)
                if msg.get("event") == "error":
                    raise ControlError(
                        str(msg.get("error", "error")), msg.get("kind"), msg.get("log_tail") or ""
                    )
                yield msg

    def call(self, op: str, timeout: float | None = 30.0, **args: Any) -> dict[str, Any]:
        """A request with a single answer."""
        for msg in self.stream(op, timeout=timeout, **args):
            return msg
        raise ConnectionError("the daemon closed the connection without answering")

    def status(self, timeout: float | None = 30.0) -> DaemonStatus:
        """The daemon's ``status`` answer, checked field by field
        (:func:`parley.app.protocol.shapes.daemon_status`)."""
        from parley.app.protocol.shapes import daemon_status

        return daemon_status(self.call("status", timeout=timeout))

    def wait_gone(self, timeout: float = 15.0) -> bool:
        """Wait until the daemon process has exited and its control port is closed;
        whether it did within ``timeout`` seconds. The exit is awaited
        (:func:`parley.app.agent.procwait.wait_exit`: a pidfd on Linux), not polled."""
        from parley.app.agent.procwait import wait_exit

        deadline = time.monotonic() + timeout
        if wait_exit([self.state.daemon_pid], timeout):
            return False
        while daemon_alive(self.state):  # its port closes as it exits: a moment at most
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.02)
        return True
