"""The state file a running daemon leaves for its clients, and how they find it.

Each daemon has a runtime directory ``<runtime>/<key>/`` (0700; the roots are in
:mod:`parley.app.home`) holding ``state.json`` and ``daemon.lock`` (0600), so other local
users can read neither the control port's token nor the state. ``key`` is a hash of the
resolved project directory (and an optional session name): one daemon per project.
This module is on the ``parley say`` path: standard library and platformdirs only.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from parley.app.home import private_dir, runtime_root

STATE_FILE = "state.json"
LOCK_FILE = "daemon.lock"


def session_key(project: Path, name: str | None = None) -> str:
    """16 hex digits naming the daemon of ``project`` (+ ``name``)."""
    raw = f"{project.resolve()}\0{name or ''}".encode()
    return hashlib.sha256(raw).hexdigest()[:16]


def session_dir(key: str, create: bool = False) -> Path:
    """The runtime directory of daemon ``key`` (made 0700 when ``create``)."""
    path = runtime_root() / key
    return private_dir(path, writable=True) if create else path


def new_session_id(key: str) -> str:
    """A sortable id for a recorded session: ``YYYYmmdd-HHMMSS-<key[:6]>``."""
    return time.strftime("%Y%m%d-%H%M%S", time.localtime()) + f"-{key[:6]}"


@dataclass
class SessionState:
    """What a running daemon tells its clients (``state.json``, mode 0600).

    Ports are loopback TCP ports; pids are of the daemon and of the agent process
    (the leader of its own process group); paths are absolute.
    """

    key: str
    session_id: str
    project: str
    name: str | None
    agent_file: str
    daemon_pid: int
    agent_pid: int
    control_port: int
    agent_port: int
    token: str
    agent_log: str
    daemon_log: str
    event_log: str
    started_at: float
    agent_id: str | None = None

    def save(self, directory: Path) -> None:
        """Write atomically with mode 0600."""
        tmp = directory / (STATE_FILE + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(dataclasses.asdict(self), f, indent=2)
        os.replace(tmp, directory / STATE_FILE)

    @classmethod
    def load(cls, directory: Path) -> SessionState | None:
        """The state in ``directory``, or ``None`` if there is none (or it is unreadable)."""
        try:
            data: dict[str, Any] = json.loads((directory / STATE_FILE).read_text())
        except (OSError, ValueError):
            return None
        names = {f.name for f in dataclasses.fields(cls)}
        try:
            return cls(**{k: v for k, v in data.items() if k in names})
        except TypeError:
            return None


def find_session(cwd: Path, name: str | None = None) -> tuple[Path, SessionState] | None:
    """The session of the project containing ``cwd``: walks up from ``cwd`` and
    returns the first directory whose daemon left a state file (not checked for
    liveness; see :func:`parley.app.daemon.client.locate`)."""
    cwd = cwd.resolve()
    for d in (cwd, *cwd.parents):
        sdir = session_dir(session_key(d, name))
        st = SessionState.load(sdir)
        if st is not None:
            return sdir, st
    return None
