"""Where parley keeps its files, and which project an agent file belongs to.

Two roots, both per user (``platformdirs``), or both under ``$PARLEY_HOME`` when set
(tests use that to stay apart from a developer's real sessions):

- runtime: ``<runtime>/<key>/state.json`` and ``daemon.lock`` for each running
  daemon (:mod:`parley.app.daemon.state`). The directory is 0700 and the files 0600, so
  other local users can read neither the control port's token nor the state.
- data: ``<data>/sessions/<session_id>/`` keeps ``events.jsonl`` (the event log, which
  is also the session's recording), ``agent.log`` and ``daemon.log`` after the
  session ends, so ``parley history`` and ``parley logs`` work after ``stop``.

Below the agent, session and daemon packages, which all use it (see
``docs/architecture.md``). This module is on the ``parley say`` path: standard library
and platformdirs only.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from pathlib import Path

from parley.app.errors import ParleyError

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
    return private_dir(root)


def data_root() -> Path:
    """Directory holding ``sessions/<session_id>/`` for every recorded session."""
    home = os.environ.get("PARLEY_HOME")
    if home:
        root = Path(home) / "data"
    else:
        import platformdirs

        root = Path(platformdirs.user_data_dir("parley"))
    return private_dir(root)


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


def private_dir(path: Path, writable: bool = False) -> Path:
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
    private_dir(runtime_root(), writable=True)
    private_dir(data_root(), writable=True)


def session_data_dir(session_id: str) -> Path:
    """``<data>/sessions/<session_id>/``, made 0700 (and writable) if missing."""
    return private_dir(data_root() / "sessions" / session_id, writable=True)


def project_root(agent_file: Path, cwd: Path | None = None) -> Path:
    """The project an agent file belongs to, the one root rule of every command.

    The nearest directory above the agent file holding a project marker
    (:data:`PROJECT_MARKERS`: ``pyproject.toml``, ``uv.lock``, ``requirements.txt``,
    ``setup.py``, ``.venv``, ``venv``, ``package.json``, ``.git``). With none: ``cwd``
    (where ``parley start`` ran) when the agent file is below it, else the file's own
    directory. The agent runs there, and later commands find the session by walking up
    from their own directory to it (:func:`parley.app.daemon.state.find_session`).
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
