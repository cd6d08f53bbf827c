"""Where sessions live on disk, and the state file a daemon leaves for its clients.

Two roots, both per user (``platformdirs``), or both under ``$PARLEY_HOME`` when set
(tests use that to stay apart from a developer's real sessions):

- runtime: ``<runtime>/<key>/state.json`` and ``daemon.lock`` for each running
  daemon. The directory is 0700 and the files 0600, so other local users can read
  neither the control port's token nor the state.
- data: ``<data>/sessions/<session_id>/`` keeps ``events.jsonl`` (the event log, which
  is also the session's recording), ``agent.log`` and ``daemon.log`` after the
  session ends, so ``parley history`` and ``parley logs`` work after ``stop``.

``key`` is a hash of the resolved project directory (and an optional session name):
one daemon per project. This module is on the ``parley say`` path: standard library
and platformdirs only.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from parley.app.errors import ParleyError

STATE_FILE = "state.json"
LOCK_FILE = "daemon.lock"
#: what makes a directory a project root (see :func:`project_root`): Python and Node
#: manifests, lock files, virtualenvs, a git checkout
PROJECT_MARKERS = (
    "pyproject.toml",
    "uv.lock",
    "requirements.txt",
    "setup.py",
    ".venv",
    "venv",
    "package.json",
    ".git",
)


def runtime_root() -> Path:
    """Directory holding one folder per running daemon (created 0700)."""
    home = os.environ.get("PARLEY_HOME")
    if home:
        root = Path(home) / "run"
    else:
        import platformdirs

        with warnings.catch_warnings():
            # platformdirs warns when XDG_RUNTIME_DIR is unset and falls back to /tmp
            warnings.simplefilter("ignore")
            root = Path(platformdirs.user_runtime_dir("parley"))
    return _private_dir(root)


def data_root() -> Path:
    """Directory holding ``sessions/<session_id>/`` for every recorded session."""
    home = os.environ.get("PARLEY_HOME")
    if home:
        root = Path(home) / "data"
    else:
        import platformdirs

        root = Path(platformdirs.user_data_dir("parley"))
    return _private_dir(root)


class StateDirError(ParleyError):
    """A directory parley keeps its state or recordings in cannot be made or written;
    the message names it and ``PARLEY_HOME``."""

    def __init__(self, path: Path, reason: str) -> None:
        home = os.environ.get("PARLEY_HOME")
        where = f"PARLEY_HOME is {home}" if home else "PARLEY_HOME is not set"
        super().__init__(
            f"cannot use parley's directory {path} ({reason}); make it writable, or set "
            f"PARLEY_HOME to a directory you can write ({where})"
        )
        self.path = path


def _private_dir(path: Path, writable: bool = False) -> Path:
    """``path``, created 0700 if missing; with ``writable`` it must also take new
    files. Raises :class:`StateDirError`."""
    try:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as e:
        raise StateDirError(path, e.strerror or str(e)) from None
    with contextlib.suppress(OSError):
        os.chmod(path, 0o700)
    if writable and not os.access(path, os.W_OK | os.X_OK):
        raise StateDirError(path, "not writable")
    return path


def check_writable() -> None:
    """Both roots exist and take new files (``start`` checks before it spawns
    anything). Raises :class:`StateDirError`."""
    _private_dir(runtime_root(), writable=True)
    _private_dir(data_root(), writable=True)


def project_root(agent_file: Path, cwd: Path | None = None) -> Path:
    """The project an agent file belongs to, the one root rule of every command.

    The nearest directory above the agent file holding a project marker
    (:data:`PROJECT_MARKERS`: ``pyproject.toml``, ``uv.lock``, ``requirements.txt``,
    ``setup.py``, ``.venv``, ``venv``, ``package.json``, ``.git``). With none: ``cwd``
    (where ``parley start`` ran) when the agent file is below it, else the file's own
    directory. The agent runs there, and later commands find the session by walking up
    from their own directory to it (:func:`find_session`).
    """
    start = agent_file.resolve().parent
    for d in (start, *start.parents):
        if any((d / m).exists() for m in PROJECT_MARKERS):
            return d
    if cwd is not None:
        here = cwd.resolve()
        if here == start or here in start.parents:
            return here
    return start


def session_key(project: Path, name: str | None = None) -> str:
    """16 hex digits naming the daemon of ``project`` (+ ``name``)."""
    raw = f"{project.resolve()}\0{name or ''}".encode()
    return hashlib.sha256(raw).hexdigest()[:16]


def command_hint(command: str, name: str | None = None) -> str:
    """``parley <command>`` as a hint about the session named ``name``: with
    ``-s NAME`` (shell-quoted) when it is a named session, so the hint acts on the
    session it is about."""
    import shlex

    return f"parley {command}" + (f" -s {shlex.quote(name)}" if name else "")


def session_dir(key: str, create: bool = False) -> Path:
    """The runtime directory of daemon ``key`` (made 0700 when ``create``)."""
    path = runtime_root() / key
    return _private_dir(path, writable=True) if create else path


def new_session_id(key: str) -> str:
    """A sortable id for a recorded session: ``YYYYmmdd-HHMMSS-<key[:6]>``."""
    return time.strftime("%Y%m%d-%H%M%S", time.localtime()) + f"-{key[:6]}"


def session_data_dir(session_id: str) -> Path:
    return _private_dir(data_root() / "sessions" / session_id, writable=True)


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


def tail(path: Path | str, lines: int = 20, *, color: bool = True) -> str:
    """The last ``lines`` lines of a log file ('' if missing), one per log line, read
    from the end so a large log costs no more than its tail; see
    :func:`parley.app.agent.agentlog.tail` (control characters escaped, long lines cut, SGR colour
    codes kept unless ``color=False``: print it through
    :func:`parley.app.agent.agentlog.clean_text`)."""
    from parley.app.agent.agentlog import tail as agent_log_tail

    return agent_log_tail(path, lines, color=color)
