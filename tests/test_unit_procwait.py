"""Waiting for processes without polling them (issue 10 §3): the agent's exit is awaited
while it boots, ``stop`` awaits the group's exit instead of scanning the process table
every 20 ms, and a zombie counts as gone."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from parley.app.agent import engine as engine_mod
from parley.app.agent import launcher, procwait
from parley.app.agent.engine import AgentDied, SessionEngine

pidfd = pytest.mark.skipif(not hasattr(os, "pidfd_open"), reason="Linux pidfd only")

#: a process group whose leader swallows the first SIGTERM and exits on the second (as a
#: Python agent after end_call does), with a child that exits with it
STUBBORN = r"""
import os, signal, subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
hits = []
def on_term(*_):
    hits.append(1)
    if len(hits) > 1:
        child.kill(); child.wait(); os._exit(0)
signal.signal(signal.SIGTERM, on_term)
print("ready", flush=True)
while True:
    time.sleep(0.1)
"""


def _spawn_group(code: str) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, start_new_session=True
    )
    assert proc.stdout is not None
    assert proc.stdout.readline() == b"ready\n"
    return proc


def _living(pgid: int) -> list[int]:
    """The processes of group ``pgid`` that have not exited."""
    out = []
    for p in psutil.process_iter():
        try:
            if os.getpgid(p.pid) == pgid and p.status() != psutil.STATUS_ZOMBIE:
                out.append(p.pid)
        except (OSError, psutil.Error):
            continue
    return out


def test_wait_exit_returns_once_the_processes_exit_and_reports_the_others() -> None:
    quick = subprocess.Popen([sys.executable, "-c", "pass"])
    slow = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        assert procwait.wait_exit([quick.pid], None) == set()
        assert procwait.wait_exit([quick.pid, slow.pid], 0.2) == {slow.pid}
        assert procwait.wait_exit([], None) == set()
    finally:
        slow.kill()
        slow.wait()
        quick.wait()


def test_a_zombie_counts_as_exited_and_is_not_reaped() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "raise SystemExit(7)"])
    assert procwait.wait_exit([proc.pid], None) == set()
    assert psutil.Process(proc.pid).status() == psutil.STATUS_ZOMBIE  # still ours to reap
    assert not procwait.running(proc.pid)
    assert proc.wait() == 7  # Popen still gets the real exit code


@pidfd
async def test_exited_awaits_the_exit_without_a_timer(monkeypatch: pytest.MonkeyPatch) -> None:
    async def no_sleep(delay: float, result: object = None) -> object:
        raise AssertionError("polled with asyncio.sleep")

    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(0.3); exit(5)"])
    monkeypatch.setattr(procwait.asyncio, "sleep", no_sleep)
    assert await procwait.exited(proc) == 5


async def test_connect_reports_an_agent_exit_without_waiting_for_a_timer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the log is read once an hour here: the exit itself must end the wait
    monkeypatch.setattr(engine_mod, "JOB_LOG_CHECK", 3600.0)
    checks = 0
    real_poll = engine_mod.JobFailureWatch.poll

    def counting_poll(self: engine_mod.JobFailureWatch, now: float) -> object:
        nonlocal checks
        checks += 1
        return real_poll(self, now)

    monkeypatch.setattr(engine_mod.JobFailureWatch, "poll", counting_poll)
    log = tmp_path / "agent.log"
    log.write_text("")
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(0.5); exit(4)"])
    engine = SessionEngine(lambda i: None)
    await engine.listen()
    with pytest.raises(AgentDied, match="code 4"):
        await engine.connect(proc, str(log), timeout=3600)
    assert checks == 1  # woken by the exit, not by a loop every 50 ms
    await engine.close()


async def test_connect_takes_a_connection_without_waiting_for_a_timer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(engine_mod, "JOB_LOG_CHECK", 3600.0)
    from test_unit_engine import FakeAgent

    engine = SessionEngine(lambda i: None)
    port = await engine.listen()
    task = asyncio.create_task(FakeAgent(lambda text, req_id: []).serve(port, []))
    await engine.connect(None, "/nonexistent", timeout=3600)  # woken by the connection
    await engine.close()
    await task


def test_stop_process_group_does_not_scan_the_process_table_every_20_ms(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import psutil as ps

    scans = 0
    real = ps.process_iter

    def counting(*args: object, **kwargs: object) -> object:
        nonlocal scans
        scans += 1
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ps, "process_iter", counting)
    proc = _spawn_group(STUBBORN)
    started = time.monotonic()
    launcher.stop_process_group(proc.pid, grace=1.0)
    took = time.monotonic() - started
    assert took >= 1.0  # the first SIGTERM was swallowed: a full grace period passed
    # a scan per escalation step and one after the exits, not one every 20 ms (~50/s)
    assert scans <= 5, scans
    assert _living(proc.pid) == []  # the whole group is gone (a zombie is not living)
    proc.wait()


def test_stop_process_group_of_a_group_that_is_gone_returns_at_once() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "pass"], start_new_session=True)
    proc.wait()
    launcher.stop_process_group(proc.pid)  # nothing to signal: no error


def test_stop_process_group_kills_a_group_that_ignores_sigterm() -> None:
    code = (
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        'print("ready", flush=True); time.sleep(60)'
    )
    proc = _spawn_group(code)
    launcher.stop_process_group(proc.pid, grace=0.2)
    assert _living(proc.pid) == []
    proc.wait()
