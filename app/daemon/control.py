"""Starting a daemon for a project: used by ``parley start`` and ``parley chat``.

Blocking (subprocess + one pipe read); the TUI runs it in a worker thread.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys

from parley.app.agent.agentlog import tail
from parley.app.agent.launcher import AgentSpec
from parley.app.daemon.client import cleanup_stale, daemon_alive
from parley.app.daemon.config import DaemonConfig
from parley.app.daemon.state import SessionState, session_dir, session_key
from parley.app.errors import ParleyError, command_hint
from parley.app.protocol.shapes import Ready, SessionHeader, ready_line


class StartError(ParleyError):
    """The session could not start; the message includes the agent log's tail."""


class AlreadyRunning(StartError):
    """A live daemon already serves this project (``state`` describes it)."""

    def __init__(self, state: SessionState) -> None:
        super().__init__(
            f"a session is already running for {state.project}: agent {state.agent_file} "
            f"(daemon pid {state.daemon_pid}); stop it with `{command_hint('stop', state.name)}`"
        )
        self.state = state


def running_state(spec: AgentSpec, name: str | None) -> tuple[SessionState | None, bool]:
    """The live session of ``spec``'s project, if any, and whether stale state was
    cleaned up on the way."""
    sdir = session_dir(session_key(spec.project, name), create=True)
    existing = SessionState.load(sdir)
    if existing is None:
        return None, False
    if daemon_alive(existing) or not cleanup_stale(sdir, existing):
        return existing, False
    return None, True


def start_daemon(
    spec: AgentSpec,
    name: str | None = None,
    connect_timeout: float = 60.0,
    idle_timeout: float = 30 * 60.0,
    header: SessionHeader | None = None,
    watch: bool = False,
) -> Ready:
    """Spawn a detached daemon for ``spec`` and wait until its agent is connected in
    text mode (or has failed). ``idle_timeout``: seconds without use before the
    daemon stops the session by itself (0: never).

    ``header`` adds fields to the session's event log header (``parley rerun`` puts
    ``rerun_of`` there); ``watch`` reloads the agent when its project's sources change
    (see :mod:`parley.app.session.watch`).

    Returns the daemon's ready line (``{"ok": true, "state": {...status...},
    "agent_info": {"id", "instructions", "tools"}, "items": [boot items as dicts]}``),
    checked: :func:`parley.app.protocol.shapes.ready_line`.
    Raises :class:`AlreadyRunning` or :class:`StartError` (with the log tail).
    """
    existing, _ = running_state(spec, name)
    if existing is not None:
        raise AlreadyRunning(existing)
    key = session_key(spec.project, name)
    sdir = session_dir(key, create=True)
    cfg = DaemonConfig.for_spec(
        spec,
        key,
        name,
        connect_timeout=connect_timeout,
        idle_timeout=idle_timeout,
        header=header,
        watch=watch,
    )
    err_path = sdir / "daemon-start.err"
    with open(err_path, "wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "parley.app.daemon.process", cfg.to_json()],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=err,
            start_new_session=True,
            # not the project: a user's own top-level `app` package must not shadow ours
            cwd=str(sdir),
        )
    assert proc.stdout is not None
    try:
        with proc.stdout:
            line = proc.stdout.readline()
    except KeyboardInterrupt:
        # the daemon stops its booting agent on SIGTERM; leave nothing behind
        proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(15)
        raise
    try:
        ready = json.loads(line) if line else {}
    except ValueError:
        ready = {}
    if not isinstance(ready, dict):
        ready = {}
    if not ready.get("ok"):
        # the daemon stops its agent, then exits: nothing of this start is left running
        # (and its lock is free for the next start) once the error is shown
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(20)
        message = ready.get("error") or "the daemon failed to start"
        detail = ready.get("log_tail") or tail(err_path)
        if detail:
            message += "\n" + detail
        if ready.get("agent_log"):
            message += f"\n(full agent log: {ready['agent_log']})"
        raise StartError(message)
    return ready_line(ready)
