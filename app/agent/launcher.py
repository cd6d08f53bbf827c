"""Finding, checking, spawning and stopping the user's agent.

The agent is the user's own livekit-agents program, run as
``<python> -m livekit.agents console <agent.py> --connect-addr 127.0.0.1:<port>``
(the TCP console of livekit-agents >= 1.6, see ``livekit/agents/__main__.py``): it
dials our listener and speaks ``lk.agent.session``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from parley.app.agent import watchdog
from parley.app.daemon.state import project_root

AGENT_CANDIDATES = ("agent.py", "src/agent.py")
MIN_AGENTS_VERSION = (1, 6)


class LaunchError(Exception):
    """The agent cannot be found, checked or started; the message says what to do."""


def find_agent_file(explicit: str | None, cwd: Path) -> Path:
    """The agent to run: ``explicit`` if given, else ``agent.py`` or ``src/agent.py``
    in ``cwd`` or the nearest ancestor that has one.

    Raises :class:`LaunchError` if the explicit file is missing or not a file, or if
    no candidate exists.
    """
    if explicit:
        path = (cwd / explicit).resolve()
        if not path.exists():
            raise LaunchError(f"agent file not found: {explicit}")
        if not path.is_file():
            raise LaunchError(f"not a file: {explicit}")
        return path
    cwd = cwd.resolve()
    for d in (cwd, *cwd.parents):
        for name in AGENT_CANDIDATES:
            if (d / name).is_file():
                return d / name
    raise LaunchError(
        f"no agent.py or src/agent.py in {cwd} or its parents; "
        "name the agent file: parley start path/to/agent.py"
    )


def find_interpreter(project: Path) -> list[str]:
    """The command prefix that runs Python for the agent's project.

    In order: ``$VIRTUAL_ENV``; a ``.venv`` or ``venv`` in the project directory;
    ``uv run --no-sync python`` when the project is a uv project (``uv.lock``, or
    ``[tool.uv]`` in ``pyproject.toml``) and ``uv`` is on PATH; else the interpreter
    running parley.
    """
    bindir = "Scripts" if os.name == "nt" else "bin"
    exe = "python.exe" if os.name == "nt" else "python"
    venv = os.environ.get("VIRTUAL_ENV")
    if venv and (Path(venv) / bindir / exe).exists():
        return [str(Path(venv) / bindir / exe)]
    for name in (".venv", "venv"):
        candidate = project / name / bindir / exe
        if candidate.exists():
            return [str(candidate)]
    if shutil.which("uv") and _is_uv_project(project):
        return ["uv", "run", "--project", str(project), "--no-sync", "python"]
    return [sys.executable]


def _is_uv_project(project: Path) -> bool:
    if (project / "uv.lock").exists():
        return True
    try:
        return "[tool.uv]" in (project / "pyproject.toml").read_text()
    except OSError:
        return False


def check_agents_installed(python: list[str]) -> str:
    """The livekit-agents version importable by ``python``.

    Reads package metadata only (no ``import livekit.agents``, which takes seconds).
    Raises :class:`LaunchError` saying exactly what to install when it is missing or
    older than :data:`MIN_AGENTS_VERSION`.
    """
    code = "import importlib.metadata as m; print(m.version('livekit-agents'))"
    install = f"{' '.join(python)} -m pip install 'livekit-agents>=1.6'"
    if len(python) == 1 and _same_file(python[0], sys.executable):
        from importlib.metadata import PackageNotFoundError, version

        try:  # our own interpreter: no need for a subprocess
            return _check_version(version("livekit-agents"), install)
        except PackageNotFoundError:
            raise LaunchError(
                f"livekit-agents is not installed for {python[0]}; install it with: {install}"
            ) from None
    try:
        out = subprocess.run([*python, "-c", code], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise LaunchError(f"cannot run the agent's Python ({' '.join(python)}): {e}") from None
    if out.returncode != 0:
        raise LaunchError(
            f"livekit-agents is not installed for {' '.join(python)}; install it with: {install}"
        )
    return _check_version(out.stdout.strip(), install)


def _same_file(a: str, b: str) -> bool:
    # not samefile(): every venv's python links to the same base binary, but each
    # venv has its own site-packages
    return os.path.abspath(a) == os.path.abspath(b)


def _check_version(version: str, install: str) -> str:
    parts = tuple(int(p) for p in version.split(".")[:2] if p.isdigit())
    if parts < MIN_AGENTS_VERSION:
        raise LaunchError(
            f"livekit-agents {version} is too old for text mode (needs >= 1.6); "
            f"upgrade it with: {install}"
        )
    return version


@dataclass
class AgentSpec:
    """What to run: the agent file, its project, the Python command and extra args
    passed through after ``--``."""

    agent_file: Path
    project: Path
    python: list[str]
    extra_args: tuple[str, ...] = ()

    @classmethod
    def resolve(
        cls, explicit: str | None, cwd: Path, extra_args: tuple[str, ...] = ()
    ) -> AgentSpec:
        """Find the agent file and its interpreter and check livekit-agents there.

        Raises :class:`LaunchError`.
        """
        agent_file = find_agent_file(explicit, cwd)
        project = project_root(agent_file)
        python = find_interpreter(project)
        check_agents_installed(python)
        return cls(agent_file, project, python, tuple(extra_args))

    def command(self, port: int) -> list[str]:
        return [
            *self.python,
            "-m",
            "livekit.agents",
            "console",
            str(self.agent_file),
            "--connect-addr",
            f"127.0.0.1:{port}",
            *self.extra_args,
        ]


def spawn_agent(spec: AgentSpec, port: int, log_path: Path) -> subprocess.Popen[bytes]:
    """Start the agent in its own session and process group, stdout and stderr
    appended to ``log_path``. The agent dials ``127.0.0.1:port``. A watchdog
    (:func:`parley.app.agent.watchdog.watch`) stops it if this process dies first."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            spec.command(port),
            cwd=spec.project,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    try:
        watchdog.watch(proc.pid)  # the agent never outlives this process
    except OSError:
        stop_process_group(proc.pid)
        raise
    return proc


def stop_process_group(pid: int, grace: float = 1.0) -> None:
    """End the agent whose process-group leader is ``pid`` and wait until it is gone.

    SIGTERM to the group; if it still runs after ``grace`` seconds a second SIGTERM
    (after an ``end_call`` a Python agent swallows the first one, and its handler
    answers the second with ``killpg(SIGKILL)``: livekit-agents' ``_run_tcp_console``);
    then SIGKILL to the group. Node agents ignore the first SIGINT. Works for a child
    of this process and for an orphan (after a daemon crash) alike.
    """
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(pid, sig)
        except (ProcessLookupError, PermissionError):
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not _group_alive(pid):
                return
            time.sleep(0.02)


def _group_alive(pgid: int) -> bool:
    """True while a living process of the group exists (reaping our own zombie leader)."""
    import psutil

    with contextlib.suppress(ChildProcessError):
        os.waitpid(pgid, os.WNOHANG)
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # killpg(pgid, 0) succeeds while only zombies are left: look for a living member
    for p in psutil.process_iter():
        try:
            if os.getpgid(p.pid) == pgid and p.status() != psutil.STATUS_ZOMBIE:
                return True
        except (OSError, psutil.Error):
            continue
    return False
