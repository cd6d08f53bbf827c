"""The agent's watchdog (parley.app.agent.watchdog) with a plain process as the agent."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from parley.app.agent import watchdog


def _agent() -> subprocess.Popen[bytes]:
    """A stand-in agent in a process group of its own, as the launcher spawns one."""
    return subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(600)"], start_new_session=True
    )


def _until(check: object, limit: float = 30.0) -> None:
    deadline = time.monotonic() + limit
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_dismiss_stops_the_watchdog_of_a_stopped_agent_and_keeps_the_others(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    done, running = _agent(), _agent()
    try:
        dog_done, dog_running = watchdog.watch(done.pid), watchdog.watch(running.pid)
        # the daemon has stopped `done`'s agent (told by the group check; its process is
        # kept so that its watchdog cannot see it gone and exit by itself first)
        monkeypatch.setattr(watchdog, "_group_gone", lambda pgid: pgid == done.pid)
        watchdog.dismiss()
        assert dog_done.poll() == -signal.SIGTERM  # stopped, not merely exited
        assert dog_running.poll() is None  # its agent runs on: still watched
    finally:
        for proc in (done, running):
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
    _until(lambda: dog_running.poll() is not None)  # exits on its own once its group is gone
    watchdog.reap()
    assert watchdog._groups == {}
