"""The agent never outlives the process that spawned it (the daemon).

A daemon killed with SIGKILL (or crashing) cannot stop its agent, and an agent is a few
hundred MB that would run until some later parley command cleaned it up. So every
spawned agent gets a watchdog: a tiny process (standard library only, ``python -I -S``)
in a session of its own, whose only job is to notice that the spawner is gone and then
stop the agent's process group the way :func:`parley.app.agent.launcher.stop_process_group`
does (SIGTERM, a second SIGTERM a second later — after ``end_call`` a Python agent
swallows the first — then SIGKILL). It notices:

- on Linux at once: ``prctl(PR_SET_PDEATHSIG)`` asks the kernel to signal the watchdog
  when its parent dies. The kernel's "parent" is the *thread* that forked it, so this is
  used only for a watchdog started from the main thread (a worker thread of
  ``asyncio.to_thread`` may exit while the daemon lives on);
- elsewhere (macOS, BSD), and for a watchdog started from another thread, within half
  a second: its parent pid changes when it is re-parented.

It exits by itself once the agent's group is gone (a normal ``stop``). A watchdog, not
a parent-death signal on the agent itself: that would reach only the group leader (not
``uv run``'s Python child or the job process), with one signal, which Node agents and
a Python agent after ``end_call`` ignore.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading

#: the watchdog program; argv: marker, parent pid, agent process-group id, and "1" to
#: use the parent-death signal
WATCHDOG = r"""
import os, signal, sys, time
parent, pgid = int(sys.argv[2]), int(sys.argv[3])
pdeathsig = sys.argv[4:5] == ["1"]
class Woken(Exception):
    pass

def wake(*_):
    raise Woken

signal.signal(signal.SIGUSR1, wake)
for sig in (signal.SIGINT, signal.SIGHUP):
    signal.signal(sig, signal.SIG_IGN)
try:  # Linux: a signal when the parent (thread) dies
    if pdeathsig:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGUSR1)  # PR_SET_PDEATHSIG
except Exception:
    pass

def group_alive():
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True

try:
    while os.getppid() == parent:
        if not group_alive():
            sys.exit(0)
        time.sleep(0.5)
except Woken:
    pass
signal.signal(signal.SIGUSR1, signal.SIG_IGN)
for sig, wait in ((signal.SIGTERM, 1.0), (signal.SIGTERM, 1.0), (signal.SIGKILL, 0)):
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        break
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline and group_alive():
        time.sleep(0.02)
"""

#: first argument of every watchdog, so ``ps`` tells what it is
MARKER = "parley-agent-watchdog"

_running: list[subprocess.Popen[bytes]] = []
_groups: dict[int, int] = {}  # watchdog pid -> the agent process group it watches


def watch(agent_pgid: int) -> subprocess.Popen[bytes]:
    """Start a watchdog that stops the process group ``agent_pgid`` (the agent,
    spawned with its own session) when this process dies. It exits on its own once
    the group is gone. Raises ``OSError`` when it cannot be started.

    Best called from the main thread: only there is the parent-death signal used (see
    the module's docstring); from another thread the watchdog notices within half a
    second instead."""
    reap()
    pdeathsig = "1" if threading.current_thread() is threading.main_thread() else "0"
    proc = subprocess.Popen(
        [
            *(sys.executable, "-I", "-S", "-c", WATCHDOG, MARKER),
            *(str(os.getpid()), str(agent_pgid), pdeathsig),
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # a signal to our group or the agent's does not reach it
    )
    _running.append(proc)
    _groups[proc.pid] = agent_pgid
    return proc


def reap() -> None:
    """Collect the watchdogs that have exited (their agents are gone)."""
    _running[:] = [p for p in _running if p.poll() is None]
    for pid in set(_groups) - {p.pid for p in _running}:
        del _groups[pid]


def _group_gone(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def dismiss(timeout: float = 2.0) -> None:
    """Stop, and wait up to ``timeout`` seconds for, the watchdogs whose agent group is
    gone: on this process's way out after it stopped its agents, so that no watchdog
    outlives it by the half-second between its own checks. A watchdog whose agent still
    runs is left alone."""
    reap()
    for proc in _running:
        if _group_gone(_groups[proc.pid]):
            proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout)
    reap()
