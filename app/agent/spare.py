"""A spare agent interpreter for fast reloads: Python that has already imported the
framework and waits to be told which agent to run.

A cold agent boot is mostly ``import livekit.agents`` (2–3 s on a loaded machine,
measured with ``python -X importtime``) and then, in the job runner, the framework's
one-time warm-up ``livekit.agents.ipc._preload`` (the httpx/OpenAI SDK imports, the
local VAD model, the rtc library: another ~1.3 s; livekit-agents itself runs it in its
forkserver before any job, as it is fork-safe: no threads, no event loop). In watch mode
parley keeps one spare process of the agent's own interpreter that has imported
``livekit.agents`` (the parts the TCP console and the thread job executor use), run
that warm-up, and imported the third-party modules the agent file imports
(``livekit.plugins.*`` and the like; found with :mod:`ast`, never the project's own
modules), then blocks reading one line on stdin. A reload writes the console's
``argv`` there and the spare becomes the agent: it runs ``livekit.agents``'
``__main__`` exactly as ``python -m livekit.agents console <agent.py> --connect-addr
…`` would, importing the agent module — and every module of the project — fresh.

The spare is spawned like the agent (:func:`parley.app.agent.launcher.spawn_agent`): the agent's
interpreter, cwd the project, its own session and process group, output appended to
the agent log, and a watchdog (:meth:`Spare.watch`) so that neither it nor the agent it
becomes outlives the daemon. Python agents only; a spare that died is simply not used
(the reload then spawns the agent cold).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from parley.app.agent import watchdog
from parley.app.agent.launcher import AgentSpec

#: runs in the agent's interpreter: argv[1] is the agent file, argv[2] the project
BOOTSTRAP = r"""
import ast, importlib, importlib.util, json, os, sys
for _m in ("livekit.agents", "livekit.agents.cli.cli", "livekit.agents.cli.tcp_console",
           "livekit.agents.voice.remote_session", "livekit.agents.ipc.job_thread_executor",
           "livekit.agents.ipc.job_proc_lazy_main", "livekit.agents.ipc._preload",
           "multiprocessing.forkserver"):
    try:
        importlib.import_module(_m)
    except Exception:
        pass
_agent, _project = sys.argv[1], os.path.realpath(sys.argv[2])
def _third_party(name):
    try:
        spec = importlib.util.find_spec(name.split(".")[0])
    except Exception:
        return False
    if spec is None:
        return False
    paths = [spec.origin, *(spec.submodule_search_locations or [])]
    paths = [p for p in paths if p and os.path.isabs(p)]
    def _own(p):
        p = os.path.realpath(p)
        parts = p.split(os.sep)
        return p.startswith(_project + os.sep) and not (
            "site-packages" in parts or "dist-packages" in parts)
    return bool(paths) and not any(_own(p) for p in paths)
try:
    with open(_agent, "rb") as _f:
        _tree = ast.parse(_f.read())
    _names = []
    for _n in ast.walk(_tree):
        if isinstance(_n, ast.Import):
            _names += [a.name for a in _n.names]
        elif isinstance(_n, ast.ImportFrom) and not _n.level and _n.module:
            _names.append(_n.module)
    for _name in _names:
        if _third_party(_name):
            try:
                importlib.import_module(_name)
            except Exception:
                pass
except Exception:
    pass
_line = sys.stdin.readline()
if not _line.strip():
    raise SystemExit(0)
sys.argv = json.loads(_line)
sys.stdin.close()
sys.stdin = open(os.devnull)
import runpy
runpy.run_module("livekit.agents", run_name="__main__", alter_sys=True)
"""


def interpreter(spec: AgentSpec) -> list[str] | None:
    """The command prefix that runs the agent's Python (``python``, ``uv run …
    python``), or ``None`` for an agent that is not a Python one (Node). Reads
    ``AgentSpec.runtime``/``kind`` where the launcher has them (Node agents), else
    ``AgentSpec.python``."""
    if getattr(spec, "kind", "python") != "python":
        return None
    prefix = getattr(spec, "runtime", None) or getattr(spec, "python", None)
    return list(prefix) if prefix else None


def supports(spec: AgentSpec) -> bool:
    """Whether ``spec`` runs through ``python -m livekit.agents`` (a spare can take
    it)."""
    python = interpreter(spec)
    if python is None:
        return False
    n = len(python)
    return spec.command(0)[n : n + 2] == ["-m", "livekit.agents"]


class Spare:
    """One waiting interpreter for ``spec``. :meth:`launch` hands it the agent;
    :meth:`discard` ends it unused."""

    def __init__(self, spec: AgentSpec, log_path: Path) -> None:
        self.spec = spec
        python = interpreter(spec)
        if python is None:
            raise ValueError(f"not a Python agent: {spec.agent_file}")
        self.python = python
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        with open(log_path, "ab") as log:
            self.proc: subprocess.Popen[bytes] = subprocess.Popen(
                [
                    *python,
                    "-c",
                    BOOTSTRAP,
                    str(spec.agent_file),
                    str(spec.project),
                ],
                cwd=spec.project,
                stdin=subprocess.PIPE,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )

    def watch(self) -> None:
        """Start the watchdog that stops this interpreter's process group (the spare,
        then the agent it becomes) when this process dies
        (:func:`parley.app.agent.watchdog.watch`). Call it from a thread that lives as
        long as the process (the event loop's), not the worker thread that created the
        spare: on Linux the parent-death signal follows the thread that started the
        watchdog. Raises ``OSError`` when it cannot be started."""
        watchdog.watch(self.proc.pid)

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def launch(self, port: int) -> subprocess.Popen[bytes] | None:
        """Make the spare the agent, dialing ``127.0.0.1:port``; ``None`` if it is
        no longer running (the caller then spawns the agent cold)."""
        if not self.alive or self.proc.stdin is None:
            return None
        n = len(self.python)
        argv = ["livekit.agents", *self.spec.command(port)[n + 2 :]]
        try:
            self.proc.stdin.write(json.dumps(argv).encode() + b"\n")
            self.proc.stdin.close()
        except OSError:
            return None
        return self.proc

    def discard(self) -> None:
        """End the spare (closing its stdin makes it exit; then the group is stopped)."""
        from parley.app.agent.launcher import stop_process_group

        if self.proc.stdin is not None and not self.proc.stdin.closed:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
        if self.alive:
            stop_process_group(self.proc.pid, grace=0.5)
        try:
            self.proc.wait(1)
        except subprocess.TimeoutExpired:
            pass
