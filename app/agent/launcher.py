"""Finding, checking, spawning and stopping the user's agent.

A Python agent is the user's own livekit-agents program, run as
``<python> -m livekit.agents console <agent.py> --connect-addr 127.0.0.1:<port>``
(the TCP console of livekit-agents >= 1.6, see ``livekit/agents/__main__.py``); a Node
agent (@livekit/agents >= 1.0) as ``<node> <entry> console --connect-addr …``. Either
dials our listener and speaks ``lk.agent.session``. Which Python: :mod:`parley.app.agent.pyenv`;
which Node runtime: :mod:`parley.app.agent.nodeenv`. The agent runs in its project's root
(:func:`parley.app.home.project_root`), as the templates' own commands do, so a
``.env.local`` there is found.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from parley.app.agent import procwait, watchdog
from parley.app.agent.nodeenv import choose_node, is_node_entry, node_entry
from parley.app.agent.pyenv import (
    MIN_AGENTS_VERSION,
    LaunchError,
    choose_python,
    installed_version,
)
from parley.app.errors import command_hint
from parley.app.home import project_root

__all__ = [
    "AGENT_CANDIDATES",
    "MIN_AGENTS_VERSION",
    "AgentSpec",
    "LaunchError",
    "check_agents_installed",
    "find_agent_file",
    "spawn_agent",
    "stop_process_group",
]

AGENT_CANDIDATES = ("agent.py", "src/agent.py")

AgentKind = Literal["python", "node"]


def find_agent_file(
    explicit: str | None, cwd: Path, *, session: str | None = None, command: str = "start"
) -> Path:
    """The agent to run: ``explicit`` if given; else, in ``cwd`` or the nearest
    ancestor that has one, ``agent.py`` or ``src/agent.py``, or in a Node project
    (a ``package.json``) the entry :func:`parley.app.agent.nodeenv.node_entry` names.

    Raises :class:`LaunchError` if the explicit file is missing or not a file, or if
    no candidate exists (its hint is ``parley <command>`` for the session named
    ``session``: :func:`parley.app.errors.command_hint`).
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
        entry = node_entry(d)
        if entry is not None:
            return entry.resolve()
    raise LaunchError(
        f"no agent.py or src/agent.py (nor a Node project with an entry) in {cwd} or its "
        "parents; "
        f"name the agent file: {command_hint(command, session)} path/to/agent.py"
    )


def check_agents_installed(python: list[str]) -> str:
    """The livekit-agents version importable by ``python``.

    Reads package metadata only (no ``import livekit.agents``, which takes seconds).
    Raises :class:`LaunchError` saying exactly what to install when it is missing or
    older than :data:`MIN_AGENTS_VERSION`.
    """
    install = f"{' '.join(python)} -m pip install 'livekit-agents>=1.6'"
    version = installed_version(python)
    if version is None:
        raise LaunchError(
            f"livekit-agents is not installed for {' '.join(python)}; install it with: {install}"
        )
    parts = tuple(int(p) for p in version.split(".")[:2] if p.isdigit())
    if parts < MIN_AGENTS_VERSION:
        raise LaunchError(
            f"livekit-agents {version} is too old for text mode (needs >= 1.6); "
            f"upgrade it with: {install}"
        )
    return version


@dataclass
class AgentSpec:
    """What to run: the agent file, its project (the working directory), the runtime
    command prefix (a Python, ``uv run … python``, ``node``, ``npx --yes tsx``…),
    extra args passed through after ``--``, the kind of agent, and a line saying which
    runtime runs it and why (``runtime_label``, shown by ``start`` and ``status``)."""

    agent_file: Path
    project: Path
    runtime: list[str]
    extra_args: tuple[str, ...] = ()
    kind: AgentKind = "python"
    runtime_label: str = ""

    @classmethod
    def resolve(
        cls,
        explicit: str | None,
        cwd: Path,
        extra_args: tuple[str, ...] = (),
        *,
        session: str | None = None,
        command: str = "start",
    ) -> AgentSpec:
        """Find the agent file, its project and its runtime, and check that the
        framework is installed there. ``session`` and ``command``: what a hint names
        (:func:`find_agent_file`).

        Raises :class:`LaunchError`.
        """
        agent_file = find_agent_file(explicit, cwd, session=session, command=command)
        project = project_root(agent_file, cwd)
        if is_node_entry(agent_file):
            node = choose_node(agent_file, project)
            label = f"{node.label}, @livekit/agents {node.agents_version}"
            return cls(agent_file, project, node.command, tuple(extra_args), "node", label)
        env = choose_python(project)
        label = f"{env.label}, livekit-agents {env.agents_version}"
        if env.note:
            label += f"; {env.note}"
        return cls(agent_file, project, env.command, tuple(extra_args), "python", label)

    @property
    def python(self) -> list[str]:
        """The Python command of a Python agent (``[]`` for a Node agent)."""
        return self.runtime if self.kind == "python" else []

    @property
    def runtime_line(self) -> str:
        """``<command> — <label>``, for the start header and ``status``."""
        cmd = " ".join(self.runtime)
        return f"{cmd} ({self.runtime_label})" if self.runtime_label else cmd

    def command(self, port: int) -> list[str]:
        """The agent's command line, dialing ``127.0.0.1:port``."""
        addr = ["--connect-addr", f"127.0.0.1:{port}"]
        if self.kind == "node":  # the entry calls cli.runApp itself
            return [*self.runtime, str(self.agent_file), "console", *addr, *self.extra_args]
        return [
            *self.runtime,
            "-m",
            "livekit.agents",
            "console",
            str(self.agent_file),
            *addr,
            *self.extra_args,
        ]


def spawn_agent(spec: AgentSpec, port: int, log_path: Path) -> subprocess.Popen[bytes]:
    """Start the agent in its own session and process group, stdout and stderr
    appended to ``log_path``. The agent dials ``127.0.0.1:port``. A watchdog
    (:func:`parley.app.agent.watchdog.watch`) stops it if this process dies first."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    if spec.kind == "node":
        env.setdefault("NO_COLOR", "1")  # pino-pretty: plain log lines
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
    then SIGKILL to the group. A Node agent (@livekit/agents 1.9) does not exit within
    3 s of one SIGTERM but does on the second; behind ``npx`` or ``tsx`` it is several
    processes (``npm exec`` → ``sh`` → ``tsx`` → ``node``), all in the one group. Works for a child
    of this process and for an orphan (after a daemon crash) alike.
    """
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(pid, sig)
        except (ProcessLookupError, PermissionError):
            return
        if _wait_group_gone(pid, wait):
            return


def _wait_group_gone(pgid: int, timeout: float) -> bool:
    """Wait up to ``timeout`` seconds until no living process of group ``pgid`` is
    left; whether none is. The members are listed once (one scan of the process
    table), their exits awaited (:func:`parley.app.agent.procwait.wait_exit`), and the
    group listed again only once they have all exited (a process forked into the group
    meanwhile is then waited for too)."""
    deadline = time.monotonic() + timeout
    while True:
        members = _group_members(pgid)
        if not members:
            return True
        left = deadline - time.monotonic()
        if left <= 0 or procwait.wait_exit(members, left):
            return False


def _group_members(pgid: int) -> list[int]:
    """The living processes of group ``pgid`` (reaping our own zombie leader first:
    ``killpg(pgid, 0)`` succeeds while only zombies are left)."""
    import psutil

    with contextlib.suppress(ChildProcessError):
        os.waitpid(pgid, os.WNOHANG)
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return []
    except PermissionError:
        pass  # someone else's group: the scan below tells
    members = []
    for p in psutil.process_iter():
        try:
            if os.getpgid(p.pid) == pgid and p.status() != psutil.STATUS_ZOMBIE:
                members.append(p.pid)
        except (OSError, psutil.Error):
            continue
    return members
