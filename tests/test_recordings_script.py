"""``parley chat --script``: scripted takes typed into the chat UI.

The end-to-end test runs the real CLI in a pseudo-terminal against the real demo
agent; the pilot tests drive :class:`parley.widgets.script.ScriptRunner` on a small echo
backend to watch the typing itself.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import pty
import struct
import subprocess
import termios
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from conftest import DEMO, Parley, parley_exe

from parley.app.backend import BackendError
from parley.app.protocol import items as it
from parley.app.protocol.shapes import AgentInfo, SessionHeader
from parley.widgets.app import make_app
from parley.widgets.script import ScriptRunner, TurnWatcher, read_script

SCRIPT = """\
# a take for the demo agent: weather, then billing
what's the weather in San Francisco?

   # comments may be indented
please connect me to billing
what's my balance?
"""

GREETING = (
    "Hi! I'm your travel concierge. I can check the weather, look up a booking, "
    "or connect you to billing."
)
EXPECTED_TAKE = """
  ● agent: concierge

  ● Agent
    GREETING

  ● You
    what's the weather in San Francisco?

  ● function_tool: lookup_weather
    ✓ sunny with a temperature of 70 degrees.

  ● Agent
    The weather in San Francisco is sunny with a temperature of 70 degrees.

  ● You
    please connect me to billing

  ● function_tool: transfer_to_billing

  ● handoff: concierge → billing

  ● Agent
    Hi, this is billing. I can check your balance or take you back to the concierge.

  ● You
    what's my balance?

  ● function_tool: check_balance
    ✓ $42.00

  ● Agent
    Your balance is $42.00.
""".replace("GREETING", GREETING)


def test_read_script_skips_comments_and_blank_lines(tmp_path: Path) -> None:
    f = tmp_path / "s.txt"
    f.write_text(SCRIPT + "\tand a tab  \n#last\n")
    assert read_script(f) == [
        "what's the weather in San Francisco?",
        "please connect me to billing",
        "what's my balance?",
        "    and a tab",
    ]


def run_in_pty(args: list[str], cwd: Path, env: dict[str, str], timeout: float) -> tuple[int, str]:
    """Run ``args`` with a 120x40 pseudo-terminal as stdin/stdout/stderr; returns the
    exit code and everything it wrote. Kills it after ``timeout`` seconds."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    proc = subprocess.Popen(
        args, cwd=cwd, env=env, stdin=slave, stdout=slave, stderr=slave, start_new_session=True
    )
    os.close(slave)
    out = bytearray()

    def drain() -> None:
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                return
            if not chunk:
                return
            out.extend(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        code = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise
    finally:
        reader.join(timeout=5)
        os.close(master)
    return code, out.decode("utf-8", "replace")


@pytest.mark.e2e
def test_script_against_the_demo_agent_gives_the_take_and_an_svg(
    parley: Parley, tmp_path: Path
) -> None:
    script = tmp_path / "take.script"
    script.write_text(SCRIPT)
    svg = tmp_path / "take.svg"
    args = ["chat", str(DEMO), "--script", str(script), "--type-delay", "0.005"]
    args += ["--pause", "0.3", "--exit-after", "--screenshot", str(svg)]
    t0 = time.monotonic()
    code, out = run_in_pty([*parley_exe(), *args], parley.cwd, parley.env, timeout=120)
    assert code == 0, out[-2000:]
    assert "script done (3 of 3 lines sent, all ok)" in out
    assert time.monotonic() - t0 >= 0.6  # two pauses between three turns
    # the app quit and stopped the agent it started
    assert "no session running" in parley("status").stderr
    # the take is a recording like any session: its transcript is the script's
    replay = parley("replay", "--headless", "--speed", "0", check=True)
    assert replay.stdout == EXPECTED_TAKE
    rows = [json.loads(ln) for ln in parley("sessions", "--json", check=True).stdout.splitlines()]
    assert len(rows) == 1 and rows[0]["turns"] == 3
    # the screenshot is an SVG of the final screen
    root = ET.parse(svg).getroot()
    assert root.tag.endswith("svg")
    text = "".join(root.itertext()).replace("\xa0", " ")
    for needle in ("what's my balance?", "Your balance is $42.00.", "check_balance", "billing"):
        assert needle in text, needle


class EchoBackend:
    """A tiny ChatBackend: every turn is answered by an echo after ``delay`` s."""

    is_replay = False
    agent_log_path = None
    header: SessionHeader = {}
    event_log_path = None

    def __init__(self, delay: float = 0.05, fail_on: str | None = None) -> None:
        self.delay = delay
        self.fail_on = fail_on
        self.queue: asyncio.Queue[it.ChatItem | None] = asyncio.Queue()
        self.seq = 0
        self.said: list[str] = []

    def _emit(self, cls: Any, **kw: Any) -> None:
        self.seq += 1
        self.queue.put_nowait(cls(seq=self.seq, ts=time.time(), **kw))

    async def start(self) -> AgentInfo:
        self._emit(it.Handoff, from_agent=None, to_agent="echo")
        return {"id": "echo", "instructions": "", "tools": []}

    async def follow(self) -> AsyncIterator[it.ChatItem]:
        while (item := await self.queue.get()) is not None:
            yield item

    async def say(self, text: str) -> str:
        if text == self.fail_on:
            raise BackendError("the agent is gone")
        self.said.append(text)
        turn = f"t{len(self.said)}"
        self._emit(it.UserMessage, turn_id=turn, text=text)

        async def answer() -> None:
            await asyncio.sleep(self.delay)
            self._emit(it.AgentMessage, turn_id=turn, text=f"echo: {text}", agent_id="echo")
            self._emit(it.TurnFinished, turn_id=turn, status="ok")

        asyncio.get_running_loop().create_task(answer())
        return turn

    async def cancel(self) -> list[str]:
        return []

    async def agent_info(self) -> AgentInfo:
        return {"id": "echo", "instructions": "", "tools": []}

    async def agent_alive(self) -> bool:
        return True

    async def restart(self) -> AgentInfo:
        return await self.agent_info()

    async def close(self) -> None:
        self.queue.put_nowait(None)


async def test_runner_types_visibly_and_waits_for_each_turn(tmp_path: Path) -> None:
    backend = EchoBackend(delay=0.3)
    watcher = TurnWatcher(backend)
    lines = ["hello there", "[bold]not markup[/bold]"]
    runner = ScriptRunner(lines, watcher, type_delay=0.02, pause=0.1)
    app = make_app(watcher, frozen=True)
    seen: set[str] = set()
    async with app.run_test(size=(100, 30)) as pilot:

        async def sample() -> None:
            while True:
                seen.add(app.prompt.text)
                await asyncio.sleep(0.005)

        sampler = asyncio.get_running_loop().create_task(sample())
        t0 = time.monotonic()
        await runner(pilot)
        elapsed = time.monotonic() - t0
        sampler.cancel()
        assert runner.error is None and runner.statuses == ["ok", "ok"]
        assert backend.said == lines
        # partial lines were on screen while typing
        partial = {s for s in seen if s and s not in lines}
        assert any("hello there".startswith(s) for s in partial), seen
        assert any(lines[1].startswith(s) for s in partial), seen
        # each turn was awaited (2 x 0.3 s) and paused after (0.1 s, not after the last)
        assert elapsed >= 0.7
        texts = [e.plain for e in app.transcript.shown]
        assert any("echo: [bold]not markup[/bold]" in t for t in texts)
        assert app.is_running  # no --exit-after


async def test_runner_stops_on_a_failed_send_and_still_saves_the_svg(tmp_path: Path) -> None:
    backend = EchoBackend(fail_on="second")
    watcher = TurnWatcher(backend)
    svg = tmp_path / "shot.svg"
    runner = ScriptRunner(
        ["first", "second", "third"],
        watcher,
        type_delay=0,
        pause=0,
        exit_after=True,
        screenshot=svg,
    )
    app = make_app(watcher, frozen=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await runner(pilot)
        await pilot.pause()
    assert runner.error == "line 2 was not sent: the agent is gone"
    assert runner.statuses == ["ok"] and backend.said == ["first"]
    assert runner.screenshot_path == str(svg) and svg.read_text().lstrip().startswith("<svg")


async def test_runner_waits_without_a_timer_and_writes_the_svg_off_the_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every wait is woken by what it waits for: with no typing delay and no pause the
    runner never sleeps (it checked its conditions every 20 ms before). The screenshot
    is written in a thread, not on the UI loop, and is complete when the runner ends."""
    import inspect

    from parley.widgets import script

    sleeps: list[float] = []
    real_sleep = asyncio.sleep

    async def sleep(delay: float, result: Any = None) -> Any:
        caller = inspect.currentframe()
        if caller is not None and caller.f_back is not None:
            if caller.f_back.f_code.co_filename == script.__file__:
                sleeps.append(delay)
        return await real_sleep(delay, result)

    monkeypatch.setattr(asyncio, "sleep", sleep)
    writers: list[threading.Thread] = []
    real_write = script.write_svg

    def write_svg(path: Path, svg: str) -> None:
        writers.append(threading.current_thread())
        real_write(path, svg)

    monkeypatch.setattr(script, "write_svg", write_svg)
    backend = EchoBackend(delay=0.05)
    watcher = TurnWatcher(backend)
    svg = tmp_path / "shot.svg"
    runner = ScriptRunner(
        ["one", "two"], watcher, type_delay=0, pause=0, exit_after=True, screenshot=svg
    )
    app = make_app(watcher, frozen=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await runner(pilot)
        assert svg.exists()  # written before the runner returned
        await pilot.pause()
    assert runner.error is None and runner.statuses == ["ok", "ok"]
    assert sleeps == []
    assert len(writers) == 1 and writers[0] is not threading.main_thread()
    ET.fromstring(svg.read_text(encoding="utf-8"))  # the whole document
