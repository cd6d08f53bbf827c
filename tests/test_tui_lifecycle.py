"""The chat UI's own session: starting the agent, a crash and a restart in place,
quitting (which stops what the app started), a failed start, and `attach`."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import psutil
import pytest
from conftest import ROOT, copy_agent, parley_exe
from test_tui_support import (
    SIZE,
    after_user,
    demo_spec,
    module_home,  # noqa: F401  (fixture)
    notices,
    rows,
    send,
    started,
    wait_until,
)

import parley.app.cli.commands  # noqa: F401  (first: it registers parley.app.cli.tui)
from parley.app.agent.launcher import AgentSpec
from parley.app.backend import BackendError, DaemonBackend
from parley.app.cli.tui import release
from parley.app.protocol.shapes import DaemonStatus
from parley.widgets.app import make_app

pytestmark = pytest.mark.usefixtures("module_home")

FALLBACK = (
    "I can check the weather, look up a booking, run a slow search, or connect you to billing."
)


async def daemon_status(backend: DaemonBackend) -> DaemonStatus:
    """The ``status`` answer of the daemon ``backend`` started or attached to."""
    assert backend.client is not None, "the backend has not started"
    return await backend.client.status()


def agent_texts(rows_: list) -> list[str]:
    return [r.block.body for r in rows_ if r.kind == "agent"]


@pytest.mark.e2e
async def test_chat_starts_the_agent_survives_a_crash_and_stops_it_on_quit() -> None:
    backend = DaemonBackend(demo_spec())
    app = make_app(backend, title="demo.py")
    async with app.run_test(size=SIZE) as pilot:
        # boot takes seconds: a visible "starting" state first
        await pilot.pause()
        assert app.status.state == "starting"
        assert any("Starting the agent" in n.plain for n in notices(app))
        await started(pilot)
        assert backend.started_daemon
        await wait_until(
            pilot,
            lambda: any(
                t.startswith("Hi! I'm your travel concierge") for t in agent_texts(rows(app))
            ),  # fmt: skip
            what="greeting",
        )
        status = await daemon_status(backend)
        daemon_pid, agent_pid = status["daemon_pid"], status["agent_pid"]
        assert agent_pid is not None

        # the agent dies: a banner with the log tail and a way to restart
        os.killpg(agent_pid, signal.SIGKILL)
        await wait_until(pilot, lambda: app.banner.display, what="crash banner")
        assert "The agent stopped" in app.banner.text
        assert "Ctrl+R" in app.banner.text
        assert app.status.state == "disconnected"
        assert any(r.kind == "error" for r in rows(app))

        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: not app.banner.display, timeout=60, what="restarted")
        assert app.agents.info["id"] == "concierge"
        new_pid = (await daemon_status(backend))["agent_pid"]
        assert new_pid is not None and new_pid != agent_pid
        await send(pilot, "hello after restart")
        await wait_until(
            pilot, lambda: FALLBACK in agent_texts(after_user(app, "hello after restart"))
        )

        # quitting stops the daemon this app started, and its agent
        await pilot.press("ctrl+q")
        await wait_until(pilot, lambda: backend.closed, timeout=30, what="closed")
    assert not psutil.pid_exists(daemon_pid) or psutil.Process(daemon_pid).status() == "zombie"
    assert not psutil.pid_exists(new_pid)


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


@pytest.mark.e2e
async def test_quit_force_kills_a_hung_daemon_and_its_agent() -> None:
    backend = DaemonBackend(demo_spec(), stop_timeout=1.5)
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        status = await daemon_status(backend)
        daemon_pid, agent_pid = status["daemon_pid"], status["agent_pid"]
        assert agent_pid is not None
        os.kill(daemon_pid, signal.SIGSTOP)  # the daemon hangs: it answers nothing
        try:
            await pilot.press("ctrl+q")
            await wait_until(pilot, lambda: backend.closed, timeout=40, what="closed")
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.kill(daemon_pid, signal.SIGCONT)
    assert gone(daemon_pid)
    assert gone(agent_pid)


@pytest.mark.e2e
def test_a_second_quit_during_boot_still_stops_the_daemon_it_starts() -> None:
    """Ctrl+Q twice while the agent boots ends the app at once, its loop with it;
    `parley chat` then releases the backend (run_chat), which waits for the start
    thread and stops the daemon it started."""
    backend = DaemonBackend(demo_spec())

    async def quit_twice_during_boot() -> None:
        app = make_app(backend)
        async with app.run_test(size=SIZE) as pilot:
            await wait_until(pilot, lambda: backend.booting, what="booting")
            await pilot.press("ctrl+q", "ctrl+q")
            await wait_until(pilot, lambda: not app.is_running, what="exited")
        assert backend.booting and not backend.closed  # the daemon is still starting

    asyncio.run(quit_twice_during_boot())
    release(backend)  # what run_chat does once the app has ended
    assert backend.closed and backend.started_daemon and backend.state is not None
    assert gone(backend.state.daemon_pid)
    assert gone(backend.state.agent_pid)


@pytest.mark.e2e
async def test_a_failed_start_shows_a_banner_with_the_log(tmp_path: Path) -> None:
    agent = copy_agent(ROOT / "testdata" / "agents" / "echo.py", tmp_path / "proj")
    agent.write_text(agent.read_text() + "\nraise RuntimeError('boom at import')\n")
    (tmp_path / "proj" / "pyproject.toml").write_text("[project]\nname='x'\n")
    spec = AgentSpec(agent, tmp_path / "proj", [sys.executable])
    backend = DaemonBackend(spec, connect_timeout=30)
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.banner.display, timeout=60, what="failure banner")
        assert "The agent failed to start" in app.banner.text
        assert "boom at import" in app.banner.text  # the log's tail
        assert not app.started
        # Ctrl+R retries the start (and fails the same way)
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: not app.banner.display, what="retrying")
        await wait_until(pilot, lambda: app.banner.display, timeout=60, what="failed again")
        assert "boom at import" in app.banner.text
        await pilot.press("ctrl+q")
        await wait_until(pilot, lambda: backend.closed, what="closed")
    assert not backend.started_daemon


async def test_attach_only_never_starts_an_agent() -> None:
    backend = DaemonBackend(None, cwd=ROOT, attach_only=True)
    with pytest.raises(BackendError, match="^no session running"):
        await backend.start()


def test_parley_attach_without_a_session_exits_1(module_home: Path) -> None:  # noqa: F811
    env = {**os.environ, "PARLEY_HOME": str(module_home)}
    proc = subprocess.run(
        [*parley_exe(), "attach"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 1
    assert proc.stderr.startswith("no session running")
    assert proc.stdout == ""  # no UI was drawn


def test_chat_commands_are_registered() -> None:
    proc = subprocess.run(
        [*parley_exe(), "--help"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    for command in ("chat", "demo", "attach"):
        assert f"  {command} " in proc.stdout
